/**
 * The etcd store and election against a real etcd on loopback: store
 * semantics, leader handover, and fencing (a deposed leader's writes fail
 * inside etcd, whatever it believes).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { ManualClock, MonotonicClock } from '../../src/common/clock.js';
import { CurveError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { EtcdElection } from '../../mds/election/etcd-election.js';
import { createEtcdClient } from '../../mds/etcd/etcd-client.js';
import { EtcdStore, type Fence } from '../../mds/store/etcd-store.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';

let etcd: EtcdServer;
const clients: Etcd3[] = [];

function client(): Etcd3 {
  const c = createEtcdClient(etcd.endpoints);
  clients.push(c);
  return c;
}

async function waitFor(what: string, fn: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

const isNotLeader = (e: unknown): boolean => CurveError.is(e) && e.code === 'CURVEFS_ERR_NOT_LEADER';

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  for (const c of clients) c.close();
  await etcd.destroy();
});

test('store: prefix isolation, list, compare-and-swap', async () => {
  const store = new EtcdStore(client(), '/t1/', false);
  const other = new EtcdStore(client(), '/t2/', false);
  await store.put('a/1', 'one');
  await store.put('a/2', 'two');
  await other.put('a/3', 'elsewhere');
  assert.deepEqual((await store.list('a/')).map((kv) => [kv.key, kv.value]), [['a/1', 'one'], ['a/2', 'two']]);
  assert.equal((await store.txn([{ key: 'a/1', modRevision: 0 }], [{ kind: 'put', key: 'a/1', value: 'x' }])).succeeded, false);
  const kv = (await store.get('a/1'))!;
  const ok = await store.txn([{ key: 'a/1', modRevision: kv.modRevision }], [{ kind: 'put', key: 'a/1', value: 'uno' }, { kind: 'delete', key: 'a/2' }]);
  assert.equal(ok.succeeded, true);
  assert.equal((await store.get('a/1'))!.modRevision, ok.revision);
  assert.equal(await store.get('a/2'), undefined);
  assert.equal((await other.get('a/3'))!.value, 'elsewhere');
});

test('store: listing pages through more keys than one range call returns', async () => {
  const store = new EtcdStore(client(), '/t6/', false);
  const keys = Array.from({ length: 2500 }, (_, i) => `p/${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 100) {
    await store.txn([], keys.slice(i, i + 100).map((key) => ({ kind: 'put' as const, key, value: key })));
  }
  await store.put('q/other', 'x');
  const listed = await store.list('p/');
  assert.deepEqual(listed.map((kv) => kv.key), keys);
});

test('a fenced store refuses writes without a fence and after the election key changed', async () => {
  const c = client();
  const store = new EtcdStore(c, '/t3/', true);
  await assert.rejects(store.put('x', '1'), isNotLeader);
  const lease = await c.leaseClient.leaseGrant({ TTL: 10 });
  const created = await c.kv.txn({
    compare: [{ key: Buffer.from('/t3/election/leader'), target: 'Create', result: 'Equal', create_revision: 0 }],
    success: [{ request_put: { key: Buffer.from('/t3/election/leader'), value: Buffer.from('a'), lease: lease.ID } }],
  });
  const fence: Fence = { key: '/t3/election/leader', createRevision: created.header.revision };
  store.setFence(fence);
  await store.put('x', '1');
  // Deposed: the lease goes (as on expiry) and someone else wins.
  await c.leaseClient.leaseRevoke({ ID: lease.ID });
  await c.put('/t3/election/leader').value('b');
  await assert.rejects(store.put('x', '2'), isNotLeader);
  await assert.rejects(store.txn([{ key: 'x', modRevision: 0 }], [{ kind: 'put', key: 'y', value: '1' }]), isNotLeader);
  assert.equal((await store.get('x'))!.value, '1');
});

test('election: one leader, followers know it, handover on resignation', async () => {
  const clock = new MonotonicClock();
  const stores = ['a:1', 'b:2', 'c:3'].map(() => new EtcdStore(client(), '/t4/', true));
  const elections = ['a:1', 'b:2', 'c:3'].map(
    (address, i) =>
      new EtcdElection({
        client: client(),
        key: '/t4/election/leader',
        address,
        clock,
        log: silentLogger,
        ttlSeconds: 3,
        marginMs: 1000,
        pollMs: 100,
        onFence: (fence) => stores[i]!.setFence(fence),
      }),
  );
  for (const e of elections) e.start();
  try {
    await waitFor('a leader', () => elections.some((e) => e.isActing()), 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(elections.filter((e) => e.isActing()).length, 1);
    const leader = elections.findIndex((e) => e.isActing());
    const address = ['a:1', 'b:2', 'c:3'][leader]!;
    for (const e of elections) assert.equal(e.leaderAddress(), address);
    await stores[leader]!.put('k', 'by leader');
    for (const [i, s] of stores.entries()) if (i !== leader) await assert.rejects(s.put('k', 'by follower'), isNotLeader);
    // Resigning revokes the lease: another MDS takes over well within a TTL.
    await elections[leader]!.stop();
    const tookMs = await waitFor('a new leader', () => elections.some((e) => e.isActing()), 3000);
    assert.ok(tookMs < 2000, `handover took ${tookMs} ms`);
    assert.equal(elections.filter((e) => e.isActing()).length, 1);
    await assert.rejects(stores[leader]!.put('k', 'old leader'), isNotLeader);
  } finally {
    await Promise.all(elections.map((e) => e.stop()));
  }
});

test('acting ends the instant the lease deadline passes, before any timer runs', async () => {
  const clock = new ManualClock(1_000_000);
  const store = new EtcdStore(client(), '/t5/', true);
  const changes: boolean[] = [];
  const election = new EtcdElection({
    client: client(),
    key: '/t5/election/leader',
    address: 'solo:1',
    clock,
    log: silentLogger,
    ttlSeconds: 5,
    marginMs: 1000,
    pollMs: 50,
    onFence: (fence) => store.setFence(fence),
  });
  election.onChange((isLeading) => changes.push(isLeading));
  election.start();
  try {
    await waitFor('leadership', () => election.isActing(), 5000);
    // The deadline is (keepalive send time) + TTL - margin = now + 4 s on the injected clock.
    clock.advance(3999);
    assert.equal(election.isActing(), true);
    clock.advance(1);
    // No await in between: the very next check refuses, whatever the timers do.
    assert.equal(election.isActing(), false);
    assert.equal(election.leaderAddress(), '');
    await waitFor('the step-down', () => changes.at(-1) === false, 3000);
    await assert.rejects(store.put('k', 'v'), isNotLeader);
  } finally {
    await election.stop();
  }
});
