import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Errno, toErrno } from '../../src/common/errno.js';
import { CurveError, MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { RedirectError, RpcError, notLeader, type RpcServer } from '../../src/rpc/index.js';
import { delay, freePort, mdsClient, startMds } from './rpc-test-support.js';

const servers: RpcServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.shutdown(200)));
});

async function server(...args: Parameters<typeof startMds>): Promise<RpcServer> {
  const s = await startMds(...args);
  servers.push(s);
  return s;
}

describe('RpcClient deadlines', () => {
  test('a call that outlives its deadline fails with CURVEFS_ERR_DEADLINE within a bound', async () => {
    const hung = await server({
      Tso: (_request, context) => new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({}))),
    });
    const client = mdsClient([hung.address], { timeoutMs: 150 });
    const started = performance.now();
    await assert.rejects(client.call('Tso', {}), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, 'CURVEFS_ERR_DEADLINE');
      assert.equal(error.attempts, 1, 'Tso is not marked idempotent: no retry after a timeout');
      assert.equal(toErrno(error), Errno.ETIMEDOUT);
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1_000, `elapsed ${elapsed} ms`);
    client.close();
  });

  test('an idempotent call is retried after a timeout, bounded by the total deadline', async () => {
    let calls = 0;
    const hung = await server({
      GetFsInfo: (_request, context) => {
        calls++;
        return new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({})));
      },
    });
    const client = mdsClient([hung.address], { timeoutMs: 100, totalTimeoutMs: 350, maxAttempts: 50, idempotentMethods: ['GetFsInfo'] });
    const started = performance.now();
    await assert.rejects(client.call('GetFsInfo', { fsId: 1 }), (error: unknown) => CurveError.is(error) && error.code === 'CURVEFS_ERR_DEADLINE');
    const elapsed = performance.now() - started;
    assert.ok(calls >= 2 && calls <= 5, `calls ${calls}`);
    assert.ok(elapsed < 1_000, `elapsed ${elapsed} ms`);
    client.close();
  });
});

describe('RpcClient retries', () => {
  test('UNAVAILABLE is retried until the server comes up', async () => {
    const port = await freePort();
    const client = mdsClient([`127.0.0.1:${port}`], { maxAttempts: 40, totalTimeoutMs: 8_000, backoff: { initialMs: 30, maxMs: 150 } });
    const pending = client.call('Tso', {});
    await delay(200);
    await server({ Tso: () => ({ ts: 42 }) }, { port });
    const reply = await pending;
    assert.equal(reply.status, MetaStatusCode.OK);
    assert.equal(reply.ts, 42);
    client.close();
  });

  test('gives up after maxAttempts with CURVEFS_ERR_UNAVAILABLE', async () => {
    const port = await freePort();
    const client = mdsClient([`127.0.0.1:${port}`], { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 20 } });
    const started = performance.now();
    await assert.rejects(client.call('Tso', {}), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, 'CURVEFS_ERR_UNAVAILABLE');
      assert.equal(error.attempts, 3);
      assert.equal(toErrno(error), Errno.EIO);
      return true;
    });
    assert.ok(performance.now() - started < 2_000);
    client.close();
  });

  test('gives up when the total deadline is spent, however many attempts remain', async () => {
    const port = await freePort();
    const client = mdsClient([`127.0.0.1:${port}`], { maxAttempts: 1_000, totalTimeoutMs: 300, backoff: { initialMs: 20, maxMs: 50 } });
    const started = performance.now();
    await assert.rejects(client.call('Tso', {}), (error: unknown) => error instanceof RpcError && error.attempts < 1_000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1_000, `elapsed ${elapsed} ms`);
    client.close();
  });

  test('OVERLOAD is retried, and surfaces as MetaError (EAGAIN) when it persists', async () => {
    let calls = 0;
    const busy = await server({ Tso: () => ({ status: calls++ < 2 ? MetaStatusCode.OVERLOAD : MetaStatusCode.OK, ts: calls }) });
    const client = mdsClient([busy.address]);
    const reply = await client.call('Tso', {});
    assert.equal(reply.status, MetaStatusCode.OK);
    assert.equal(calls, 3);
    const always = await server({ Tso: () => ({ status: MetaStatusCode.OVERLOAD }) });
    const client2 = mdsClient([always.address], { maxAttempts: 3 });
    await assert.rejects(client2.call('Tso', {}), (error: unknown) => {
      assert.ok(error instanceof MetaError);
      assert.equal(error.status, MetaStatusCode.OVERLOAD);
      assert.equal(toErrno(error), Errno.EAGAIN);
      return true;
    });
    client.close();
    client2.close();
  });

  test('expected statuses are values, returned at once; callOk turns them into MetaError', async () => {
    let calls = 0;
    const s = await server({
      GetFsInfo: () => {
        calls++;
        return { status: MetaStatusCode.FS_NOT_FOUND };
      },
    });
    const client = mdsClient([s.address]);
    const reply = await client.call('GetFsInfo', { fsName: 'nope' });
    assert.equal(reply.status, MetaStatusCode.FS_NOT_FOUND);
    assert.equal(reply.fsInfo, null);
    assert.equal(calls, 1);
    await assert.rejects(client.callOk('GetFsInfo', { fsName: 'nope' }), (error: unknown) => error instanceof MetaError && toErrno(error) === Errno.ENOENT);
    client.close();
  });

  test('an AbortSignal cancels a call in flight (EINTR)', async () => {
    const hung = await server({
      Tso: (_request, context) => new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({}))),
    });
    const client = mdsClient([hung.address], { timeoutMs: 5_000 });
    const controller = new AbortController();
    const pending = client.call('Tso', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, 'CURVEFS_ERR_CANCELLED');
      assert.equal(toErrno(error), Errno.EINTR);
      return true;
    });
    assert.ok(performance.now() - started < 1_000);
    const aborted = AbortSignal.abort();
    await assert.rejects(client.call('Tso', {}, { signal: aborted }), (error: unknown) => CurveError.is(error) && error.code === 'CURVEFS_ERR_CANCELLED');
    client.close();
  });
});

describe('RpcClient leader redirection', () => {
  test('a follower answers REDIRECTED with a hint and the client follows it to the leader', async () => {
    let leaderCalls = 0;
    let followerCalls = 0;
    const leader = await server({ Tso: () => ({ ts: ++leaderCalls }) });
    const follower = await server({
      Tso: () => {
        followerCalls++;
        return notLeader(leader.address);
      },
    });
    const client = mdsClient([follower.address]);
    const first = await client.call('Tso', {});
    assert.equal(first.status, MetaStatusCode.OK);
    assert.equal(first.ts, 1);
    assert.equal(client.leaderAddress(), leader.address);
    assert.deepEqual([...client.knownAddresses()].sort(), [follower.address, leader.address].sort());
    await client.call('Tso', {});
    assert.equal(followerCalls, 1, 'the second call goes straight to the leader');
    assert.equal(leaderCalls, 2);
    client.close();
  });

  test('a RedirectError thrown by a handler carries its hint too', async () => {
    const leader = await server({ ListFs: () => ({ fsInfos: [{ fsId: 3, fsName: 'a' }] }) });
    const follower = await server({
      ListFs: () => {
        throw new RedirectError(leader.address);
      },
    });
    const client = mdsClient([follower.address]);
    const reply = await client.call('ListFs', {});
    assert.equal(reply.fsInfos[0]?.fsName, 'a');
    client.close();
  });

  test('without a hint the client tries the next known address', async () => {
    const leader = await server({ Tso: () => ({ ts: 7 }) });
    const follower = await server({ Tso: () => notLeader() });
    const client = mdsClient([follower.address, leader.address]);
    const reply = await client.call('Tso', {});
    assert.equal(reply.ts, 7);
    assert.equal(client.leaderAddress(), leader.address);
    client.close();
  });

  test('a dead address is skipped in favour of a live one without waiting', async () => {
    const deadPort = await freePort();
    const live = await server({ Tso: () => ({ ts: 9 }) });
    const client = mdsClient([`127.0.0.1:${deadPort}`, live.address], { backoff: { initialMs: 2_000, maxMs: 2_000 } });
    const started = performance.now();
    const reply = await client.call('Tso', {});
    assert.equal(reply.ts, 9);
    assert.ok(performance.now() - started < 1_500, 'no backoff sleep before trying an untried address');
    assert.equal(client.leaderAddress(), live.address);
    client.close();
  });

  test('redirect ping-pong between two followers ends as MetaError(REDIRECTED)', async () => {
    const a = await server({ Tso: () => notLeader() });
    const b = await server({ Tso: () => notLeader(a.address) });
    const client = mdsClient([a.address, b.address], { maxAttempts: 4 });
    await assert.rejects(client.call('Tso', {}), (error: unknown) => error instanceof MetaError && error.status === MetaStatusCode.REDIRECTED && toErrno(error) === Errno.EAGAIN);
    client.close();
  });

  test('a call pinned to one address returns its redirect as a value', async () => {
    const follower = await server({ Tso: () => notLeader('127.0.0.1:1') });
    const client = mdsClient([follower.address]);
    const reply = await client.call('Tso', {}, { address: follower.address });
    assert.equal(reply.status, MetaStatusCode.REDIRECTED);
    assert.equal(reply.leaderHint, '127.0.0.1:1');
    client.close();
  });

  test('close() releases channels; calls after close are refused', async () => {
    const s = await server({ Tso: () => ({ ts: 1 }) });
    const client = mdsClient([s.address]);
    await client.call('Tso', {});
    client.close();
    await assert.rejects(client.call('Tso', {}), /client is closed/);
  });
});
