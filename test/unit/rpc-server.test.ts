import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { CurveError, MetaError } from '../../src/common/errors.js';
import { createLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import {
  mdsService,
  messageCodec,
  metaServerService,
  raftTransportService,
  type GetChunkInfoResponse,
  type MessageInit,
  type SnapshotChunk,
} from '../../src/proto/index.js';
import { Registry } from 'prom-client';
import { RpcClient, RpcError, RpcMetrics, RpcServer, notLeader } from '../../src/rpc/index.js';
import { delay, mdsClient } from './rpc-test-support.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function started(server: RpcServer): Promise<RpcServer> {
  await server.start();
  cleanups.push(() => server.shutdown(200));
  return server;
}

/** Sends raw bytes as a request, bypassing the codec, and returns the gRPC error or the decoded reply. */
function rawCall(address: string, path: string, bytes: Buffer): Promise<{ error: ServiceError | null; reply: unknown }> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      () => bytes,
      (reply: Buffer) => reply,
      {},
      new Metadata(),
      { deadline: Date.now() + 2_000 },
      (error, reply) => {
        client.close();
        resolve({ error, reply });
      },
    );
  });
}

function collectingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger({ name: 'rpc-test', level: 'error', destination }), lines };
}

describe('RpcServer', () => {
  test('port 0 binds a real port and reports it', async () => {
    const server = await started(new RpcServer());
    assert.ok(server.port > 0 && server.port < 65_536);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    const clash = new RpcServer({ port: server.port });
    await assert.rejects(clash.start(), (error: unknown) => CurveError.is(error) && error.message.includes(`127.0.0.1:${server.port}`));
    await clash.shutdown(50);
  });

  test('malformed request bytes get INVALID_ARGUMENT and the server keeps serving', async () => {
    const server = new RpcServer();
    server.addService(mdsService(), { GetFsInfo: (request) => ({ fsInfo: { fsId: request.fsId, fsName: 'x' } }) });
    await started(server);
    // Field 2 (fs_name) declared 255 bytes long, 0 present: truncated.
    const bad = await rawCall(server.address, '/curvefs.mds.Mds/GetFsInfo', Buffer.from([0x12, 0xff, 0x01]));
    assert.equal(bad.error?.code, Status.INVALID_ARGUMENT);
    // A uint64 id beyond 2^53 decodes to an unsafe number: refused, not rounded.
    const huge = messageCodec('curvefs.mds.GetFsInfoRequest').encode({ fsId: '18446744073709551615' });
    const unsafe = await rawCall(server.address, '/curvefs.mds.Mds/GetFsInfo', huge);
    assert.equal(unsafe.error?.code, Status.INVALID_ARGUMENT);
    assert.match(unsafe.error?.details ?? '', /safe integer/);
    const client = mdsClient([server.address]);
    const good = await client.call('GetFsInfo', { fsId: 2 ** 53 - 1 });
    assert.equal(good.fsInfo?.fsId, 2 ** 53 - 1);
    client.close();
  });

  test('a request missing a required id gets PARAM_ERROR', async () => {
    const server = new RpcServer();
    let handled = 0;
    server.addService(
      metaServerService(),
      {
        GetInode: (request) => {
          handled++;
          return { inode: { fsId: request.fsId, inodeId: request.inodeId } };
        },
      },
      { requiredIds: ['poolId', 'copysetId', 'partitionId', 'fsId'], requiredIdsByMethod: { GetLeader: ['poolId', 'copysetId'] } },
    );
    await started(server);
    const client = new RpcClient(metaServerService(), { addresses: [server.address], maxAttempts: 1 });
    cleanups.push(() => client.close());
    const missing = await client.call('GetInode', { poolId: 1, copysetId: 1, fsId: 1, inodeId: 5 });
    assert.equal(missing.status, MetaStatusCode.PARAM_ERROR);
    assert.equal(handled, 0);
    const ok = await client.call('GetInode', { poolId: 1, copysetId: 1, partitionId: 3, fsId: 1, inodeId: 5 });
    assert.equal(ok.status, MetaStatusCode.OK);
    assert.equal(ok.inode?.inodeId, 5);
    assert.equal(handled, 1);
  });

  test('a thrown MetaError becomes the reply status; an unexpected exception becomes INTERNAL and is logged', async () => {
    const { logger, lines } = collectingLogger();
    const server = new RpcServer({ logger });
    server.addService(mdsService(), {
      DeleteFs: () => {
        throw new MetaError(MetaStatusCode.FS_BUSY, 'fs a is mounted');
      },
      ListFs: () => {
        throw new TypeError('boom in handler');
      },
      Tso: () => ({ ts: 1 }),
    });
    await started(server);
    const client = mdsClient([server.address]);
    cleanups.push(() => client.close());
    const busy = await client.call('DeleteFs', { fsName: 'a' });
    assert.equal(busy.status, MetaStatusCode.FS_BUSY);
    assert.equal(busy.errorMessage, 'fs a is mounted');
    await assert.rejects(client.callOk('DeleteFs', { fsName: 'a' }), (error: unknown) => error instanceof MetaError && error.status === MetaStatusCode.FS_BUSY && /fs a is mounted/.test(error.message));
    await assert.rejects(client.call('ListFs', {}), (error: unknown) => error instanceof RpcError && error.grpcCode === Status.INTERNAL && !/boom/.test(error.message));
    await delay(50);
    assert.ok(lines.some((line) => line.includes('boom in handler') && line.includes('rpc handler failed')), lines.join('\n'));
    assert.equal((await client.call('Tso', {})).ts, 1, 'still serving');
  });

  test('unimplemented methods answer UNIMPLEMENTED', async () => {
    const server = new RpcServer();
    server.addService(mdsService(), { Tso: () => ({ ts: 1 }) });
    await started(server);
    const client = mdsClient([server.address]);
    cleanups.push(() => client.close());
    await assert.rejects(client.call('ListFs', {}), (error: unknown) => error instanceof RpcError && error.grpcCode === Status.UNIMPLEMENTED && error.attempts === 1);
  });

  test('an oversized message is refused (RESOURCE_EXHAUSTED, not retried) and the server keeps serving', async () => {
    const server = new RpcServer({ maxMessageBytes: 1_024 });
    server.addService(mdsService(), { DeleteFs: () => ({}) });
    await started(server);
    const client = mdsClient([server.address], { maxMessageBytes: 1 << 20 });
    cleanups.push(() => client.close());
    await assert.rejects(client.call('DeleteFs', { fsName: 'x'.repeat(4_096) }), (error: unknown) => error instanceof RpcError && error.grpcCode === Status.RESOURCE_EXHAUSTED && error.attempts === 1);
    assert.equal((await client.call('DeleteFs', { fsName: 'small' })).status, MetaStatusCode.OK);
  });

  test('shutdown lets an in-flight call finish, and forces within the grace bound', async () => {
    const server = new RpcServer({ shutdownGraceMs: 300 });
    server.addService(mdsService(), {
      Tso: async () => {
        await delay(100);
        return { ts: 5 };
      },
      ListFs: (_request, context) => new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({}))),
    });
    await server.start();
    const client = mdsClient([server.address], { maxAttempts: 1 });
    cleanups.push(() => client.close());
    const inFlight = client.call('Tso', {});
    await delay(20);
    const stopped = server.shutdown();
    assert.equal((await inFlight).ts, 5);
    await stopped;

    const stuck = new RpcServer({ shutdownGraceMs: 200 });
    stuck.addService(mdsService(), {
      ListFs: () => new Promise(() => undefined),
    });
    await stuck.start();
    const client2 = mdsClient([stuck.address], { maxAttempts: 1, timeoutMs: 5_000 });
    cleanups.push(() => client2.close());
    const hanging = client2.call('ListFs', {}).catch((error: unknown) => error);
    await delay(20);
    const before = performance.now();
    await stuck.shutdown();
    assert.ok(performance.now() - before < 1_000);
    assert.ok((await hanging) instanceof RpcError);
  });
});

describe('metrics', () => {
  test('client and server count calls by outcome, and retries by reason', async () => {
    const register = new Registry();
    const metrics = new RpcMetrics(register);
    const server = new RpcServer({ metrics });
    let calls = 0;
    server.addService(mdsService(), {
      Tso: () => (calls++ === 0 ? { status: MetaStatusCode.OVERLOAD } : { ts: 1 }),
      GetFsInfo: () => ({ status: MetaStatusCode.FS_NOT_FOUND }),
    });
    await started(server);
    const client = mdsClient([server.address], { metrics });
    cleanups.push(() => client.close());
    await client.call('Tso', {});
    await client.call('GetFsInfo', { fsId: 1 });
    await assert.rejects(client.call('ListFs', {}));
    const text = await register.metrics();
    assert.match(text, /curvefs_rpc_server_handled_total\{service="curvefs.mds.Mds",method="Tso",code="OVERLOAD"\} 1/);
    assert.match(text, /curvefs_rpc_server_handled_total\{service="curvefs.mds.Mds",method="Tso",code="OK"\} 1/);
    assert.match(text, /curvefs_rpc_server_handled_total\{service="curvefs.mds.Mds",method="GetFsInfo",code="FS_NOT_FOUND"\} 1/);
    assert.match(text, /curvefs_rpc_client_retries_total\{service="curvefs.mds.Mds",method="Tso",reason="same-address"\} 1/);
    assert.match(text, /curvefs_rpc_client_calls_total\{service="curvefs.mds.Mds",method="Tso",result="ok"\} 1/);
    assert.match(text, /curvefs_rpc_client_calls_total\{service="curvefs.mds.Mds",method="ListFs",result="rpc"\} 1/);
  });
});

describe('streaming', () => {
  test('server stream: redirect before the first message is followed, then every message arrives', async () => {
    const leader = new RpcServer();
    leader.addService(metaServerService(), {
      GetChunkInfo: {
        async *serverStream(request): AsyncIterable<MessageInit<GetChunkInfoResponse>> {
          for (let i = 0; i < 3; i++) {
            yield { chunks: { [String(i)]: { infos: [{ chunkId: request.inodeId * 10 + i, len: 4 }] } }, version: i };
          }
        },
      },
    });
    await started(leader);
    const follower = new RpcServer();
    follower.addService(metaServerService(), {
      GetChunkInfo: {
        async *serverStream() {
          yield notLeader(leader.address);
        },
      },
    });
    await started(follower);
    const client = new RpcClient(metaServerService(), { addresses: [follower.address] });
    cleanups.push(() => client.close());
    const received: number[] = [];
    for await (const reply of client.serverStream('GetChunkInfo', { poolId: 1, copysetId: 1, partitionId: 1, fsId: 1, inodeId: 7 })) {
      assert.equal(reply.status, MetaStatusCode.OK);
      for (const list of Object.values(reply.chunks)) for (const info of list.infos) received.push(info.chunkId);
    }
    assert.deepEqual(received, [70, 71, 72]);
    assert.equal(client.leaderAddress(), leader.address);
  });

  test('client stream: snapshot chunks arrive in order with backpressure', async () => {
    const server = new RpcServer();
    server.addService(raftTransportService(), {
      InstallSnapshot: {
        async clientStream(chunks) {
          let received = 0;
          for await (const chunk of chunks) {
            assert.equal(chunk.offset, received);
            received += chunk.data.length;
          }
          return { accepted: true, receivedBytes: received };
        },
      },
    });
    await started(server);
    const client = new RpcClient(raftTransportService(), { addresses: [server.address] });
    cleanups.push(() => client.close());
    function* chunks(): Generator<MessageInit<SnapshotChunk>> {
      const size = 64 * 1024;
      for (let i = 0; i < 64; i++) yield { poolId: 1, copysetId: 2, offset: i * size, data: Buffer.alloc(size, i), done: i === 63 };
    }
    const reply = await client.clientStream('InstallSnapshot', chunks());
    assert.equal(reply.accepted, true);
    assert.equal(reply.receivedBytes, 64 * 64 * 1024);
  });

  test('client stream: a failing request source cancels the call; the server never sees it complete', async () => {
    const server = new RpcServer();
    let completed = 0;
    let truncated = 0;
    let firstReceived!: () => void;
    const isFirstReceived = new Promise<void>((resolve) => (firstReceived = resolve));
    server.addService(raftTransportService(), {
      InstallSnapshot: {
        async clientStream(chunks) {
          let received = 0;
          try {
            for await (const chunk of chunks) {
              received += chunk.data.length;
              firstReceived();
            }
          } catch (error) {
            truncated++;
            throw error;
          }
          completed++;
          return { accepted: true, receivedBytes: received };
        },
        isLastMessage: (chunk) => chunk.done,
      },
    });
    await started(server);
    const client = new RpcClient(raftTransportService(), { addresses: [server.address] });
    cleanups.push(() => client.close());
    async function* failing(): AsyncGenerator<MessageInit<SnapshotChunk>> {
      yield { offset: 0, data: Buffer.alloc(10) };
      await isFirstReceived; // the server is mid-stream when the source fails
      throw new Error('disk read failed');
    }
    await assert.rejects(client.clientStream('InstallSnapshot', failing()), /disk read failed/);
    for (let i = 0; i < 100 && truncated === 0; i++) await delay(10);
    const reply = await client.clientStream('InstallSnapshot', [{ offset: 0, data: Buffer.alloc(3), done: true }]);
    assert.equal(reply.receivedBytes, 3);
    assert.equal(completed, 1, 'the cancelled stream never completed on the server');
    assert.equal(truncated, 1);
  });

  test('server stream: a request missing a required id gets one PARAM_ERROR message', async () => {
    const server = new RpcServer();
    server.addService(
      metaServerService(),
      {
        GetChunkInfo: {
          async *serverStream() {
            yield { version: 1 };
          },
        },
      },
      { requiredIds: ['poolId', 'copysetId', 'partitionId', 'fsId'] },
    );
    await started(server);
    const client = new RpcClient(metaServerService(), { addresses: [server.address] });
    cleanups.push(() => client.close());
    const replies = [];
    for await (const reply of client.serverStream('GetChunkInfo', { poolId: 1, copysetId: 1, fsId: 1, inodeId: 2 })) replies.push(reply.status);
    assert.deepEqual(replies, [MetaStatusCode.PARAM_ERROR]);
  });
});
