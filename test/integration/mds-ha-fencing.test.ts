/**
 * "No two leaders act at once", on a real etcd with 3 in-process MDS:
 * 1. The leader alone is cut off from etcd (its etcd traffic goes through a
 *    TCP proxy that the test cuts): it stops answering as leader before its
 *    lease (5 s) could have ended, strictly before another MDS starts
 *    answering as leader, and the new leader serves within 10 s.
 * 2. etcd itself freezes (SIGSTOP): the leader stops answering as leader
 *    within the lease; after SIGCONT a leader serves again.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds, type MdsHandle } from '../../mds/index.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const TTL_SECONDS = 5;

interface Proxy {
  readonly url: string;
  cut(): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let isCut = false;
  const server = net.createServer((downstream) => {
    if (isCut) {
      downstream.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      isCut = true;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let etcd: EtcdServer;
let dir: TempDir;
let proxy: Proxy;
const mdss: MdsHandle[] = [];
const clients: RpcClient<MdsMethods>[] = [];

/** True when `mds` itself answers a read as leader (no redirect followed). */
async function answersAsLeader(mds: MdsHandle, client: RpcClient<MdsMethods>): Promise<boolean> {
  try {
    const res = await client.call('ListFs', {}, { address: mds.address, maxAttempts: 1, timeoutMs: 500 });
    return res.status === MetaStatusCode.OK;
  } catch {
    return false;
  }
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  etcd = await startEtcd();
  dir = await makeTempDir('mds-fence');
  proxy = await startProxy(etcd.clientPort);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(mdss.map((m) => m.stop()));
  await proxy.close();
  await etcd.destroy();
  await dir.remove();
});

test('a leader cut off from etcd stops acting before its lease ends and before anyone else acts', async () => {
  const common = { dataDir: dir.path, logger: silentLogger, electionTtlSeconds: TTL_SECONDS, listen: '127.0.0.1:0' };
  const isolated = await startMds({ ...common, etcdEndpoints: [proxy.url] });
  mdss.push(isolated);
  await waitFor('the first MDS to lead', () => isolated.isLeader(), 10_000);
  for (let i = 0; i < 2; i++) mdss.push(await startMds({ ...common, etcdEndpoints: etcd.endpoints }));
  for (let i = 0; i < 3; i++) clients.push(new RpcClient(mdsService(), { addresses: [mdss[i]!.address] }));
  assert.equal(await answersAsLeader(isolated, clients[0]!), true);
  assert.equal(await answersAsLeader(mdss[1]!, clients[1]!), false);

  // Poll all three every ~25 ms and keep the timeline of "answered as leader".
  const okTimes: number[][] = [[], [], []];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const results = await Promise.all(mdss.map((m, i) => answersAsLeader(m, clients[i]!)));
      const now = Date.now();
      results.forEach((ok, i) => ok && okTimes[i]!.push(now));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const cutAtMs = Date.now();
  proxy.cut();
  await waitFor('a new leader', () => okTimes[1]!.length + okTimes[2]!.length > 0, 15_000);
  await new Promise((r) => setTimeout(r, 500));
  polling = false;
  await poller;

  const oldLastOk = okTimes[0]!.length > 0 ? okTimes[0]!.at(-1)! : cutAtMs;
  const newFirstOk = Math.min(okTimes[1]![0] ?? Infinity, okTimes[2]![0] ?? Infinity);
  process.stdout.write(`# old leader last acted ${oldLastOk - cutAtMs} ms after the cut; new leader first acted after ${newFirstOk - cutAtMs} ms\n`);
  assert.ok(oldLastOk - cutAtMs < TTL_SECONDS * 1000, 'the old leader stopped acting before its lease could end');
  assert.ok(oldLastOk < newFirstOk, 'no overlap: the old leader stopped before the new one started');
  assert.ok(newFirstOk - cutAtMs < 10_000, 'a new leader within 10 s');
  assert.equal(isolated.isLeader(), false);
  // The isolated MDS refuses writes and points nowhere it cannot vouch for.
  const write = await clients[0]!.call('CreateFs', { fsName: 'x' }, { address: isolated.address, maxAttempts: 1 });
  assert.notEqual(write.status, MetaStatusCode.OK);
  // Exactly one of the others leads.
  assert.equal(mdss.filter((m) => m.isLeader()).length, 1);
});

test('etcd frozen: the leader stops acting within its lease; after it thaws a leader serves again', async () => {
  const leaderIndex = mdss.findIndex((m) => m.isLeader());
  assert.ok(leaderIndex > 0);
  const leader = mdss[leaderIndex]!;
  const client = clients[leaderIndex]!;
  assert.equal(await answersAsLeader(leader, client), true);
  const pausedAtMs = Date.now();
  etcd.pause();
  let lastOk = pausedAtMs;
  try {
    await waitFor(
      'the leader to step down',
      async () => {
        const ok = await answersAsLeader(leader, client);
        if (ok) lastOk = Date.now();
        return !ok;
      },
      TTL_SECONDS * 1000 + 2000,
    );
    const stoppedAfterMs = lastOk - pausedAtMs;
    process.stdout.write(`# with etcd frozen the leader last acted ${stoppedAfterMs} ms after the freeze\n`);
    assert.ok(stoppedAfterMs < TTL_SECONDS * 1000, `stopped acting ${stoppedAfterMs} ms after the freeze`);
    // Nobody acts while etcd is frozen.
    for (const [i, m] of mdss.entries()) assert.equal(await answersAsLeader(m, clients[i]!), false);
  } finally {
    etcd.resume();
  }
  await waitFor('a leader after the thaw', async () => {
    for (const [i, m] of mdss.entries()) if (i > 0 && (await answersAsLeader(m, clients[i]!))) return true;
    return false;
  }, 15_000);
});
