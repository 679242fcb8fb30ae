/** GrpcTransport over loopback: batching per peer, heartbeat coalescing, snapshot streaming. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcTransport, tuneServerSockets } from '../../src/raft/multi/grpc-transport.js';
import type { GroupMessage, SnapshotChunkIn } from '../../src/raft/multi/transport.js';
import { groupId } from '../../src/raft/multi/group-id.js';
import { freePorts } from '../helpers/ports.js';
import { makeMessage, MessageType } from '../../src/raft/core/messages.js';
import { EntryType } from '../../src/raft/core/types.js';

function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

test('messages of many groups to one peer travel in one RPC; idle heartbeats coalesce', async () => {
  const a = await GrpcTransport.start({ listenAddress: '127.0.0.1:0' });
  const b = await GrpcTransport.start({ listenAddress: '127.0.0.1:0' });
  try {
    const got: GroupMessage[] = [];
    b.onMessage((ms) => got.push(...ms));
    const out: GroupMessage[] = [];
    for (let g = 0; g < 100; g++) {
      const id = groupId(1, g);
      // Two heartbeats for the same group in one turn: only the newer one is sent.
      out.push({ groupId: id, message: makeMessage({ type: MessageType.MsgHeartbeat, from: a.localId, to: b.localId, term: 1, commit: 1 }) });
      out.push({ groupId: id, message: makeMessage({ type: MessageType.MsgHeartbeat, from: a.localId, to: b.localId, term: 1, commit: 2 }) });
    }
    out.push({
      groupId: groupId(1, 0),
      message: makeMessage({
        type: MessageType.MsgApp,
        from: a.localId,
        to: b.localId,
        term: 1,
        index: 0,
        logTerm: 0,
        entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) }],
      }),
    });
    a.send(out);
    await waitFor(() => got.length >= 101, 5000);
    assert.equal(got.length, 101);
    assert.equal(a.stats().rpcsSent, 1, 'one batch for 100 groups');
    assert.ok(got.filter((m) => m.message.type === MessageType.MsgHeartbeat).every((m) => m.message.commit === 2));
    const app = got.find((m) => m.message.type === MessageType.MsgApp)!;
    assert.deepEqual([...app.message.entries[0]!.data], [1, 2, 3]);
    assert.equal(app.groupId, '1/0');
  } finally {
    await a.close();
    await b.close();
  }
});

test('an unreachable peer is reported, not thrown', async () => {
  const a = await GrpcTransport.start({ listenAddress: '127.0.0.1:0' });
  try {
    const unreachable: string[] = [];
    a.onUnreachable((g, to) => unreachable.push(`${g}@${to}`));
    a.send([{ groupId: groupId(2, 3), message: makeMessage({ type: MessageType.MsgHeartbeat, from: a.localId, to: '127.0.0.1:1', term: 1 }) }]);
    await waitFor(() => unreachable.length > 0, 5000);
    assert.deepEqual(unreachable, ['2/3@127.0.0.1:1']);
  } finally {
    await a.close();
  }
});

test('InstallSnapshot streams chunks with offsets and meta', async () => {
  const a = await GrpcTransport.start({ listenAddress: '127.0.0.1:0', snapshotChunkBytes: 1000 });
  const b = await GrpcTransport.start({ listenAddress: '127.0.0.1:0' });
  try {
    const received: SnapshotChunkIn[] = [];
    let seenIndex = 0;
    b.onSnapshot(async (gid, msg, chunks) => {
      assert.equal(gid, '1/7');
      seenIndex = msg.snapshot!.index;
      let total = 0;
      for await (const c of chunks) {
        assert.equal(c.offset, total);
        total += c.data.length;
        received.push(c);
      }
      return { accepted: true, receivedBytes: total };
    });
    const data = new Uint8Array(4500).map((_, i) => i & 0xff);
    async function* source(): AsyncGenerator<Uint8Array> {
      yield data.subarray(0, 2500);
      yield data.subarray(2500);
    }
    const meta = { index: 77, term: 3, confState: { voters: [a.localId, b.localId], votersOutgoing: [], learners: [] } };
    await a.sendSnapshot('1/7', makeMessage({ type: MessageType.MsgSnap, from: a.localId, to: b.localId, term: 3, snapshot: meta }), source());
    assert.equal(seenIndex, 77);
    assert.deepEqual(Buffer.concat(received.map((c) => c.data)), Buffer.from(data));
    assert.ok(received.length >= 5);
  } finally {
    await a.close();
    await b.close();
  }
});

test('attach() shares a server the caller owns and binds', async () => {
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const server = new grpc.Server();
  // Attach first: services must be added before binding.
  const attached = GrpcTransport.attach(server, { localId: address });
  await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  tuneServerSockets(server);
  const b = await GrpcTransport.start({ listenAddress: '127.0.0.1:0' });
  try {
    const got: GroupMessage[] = [];
    attached.onMessage((ms) => got.push(...ms));
    b.send([{ groupId: groupId(1, 1), message: makeMessage({ type: MessageType.MsgHeartbeat, from: b.localId, to: address, term: 1 }) }]);
    await waitFor(() => got.length === 1, 5000);
    assert.equal(got[0]!.message.from, b.localId);
    await attached.close();
  } finally {
    await b.close();
    server.forceShutdown();
  }
});
