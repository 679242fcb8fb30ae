/**
 * Three RaftNodes in one process over the in-process transport, with real
 * WAL and snapshot files: election, proposals with apply results, ReadIndex,
 * leader failover and restart from disk, snapshot install for a lagging
 * follower, membership change, leader transfer, metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { LocalHub } from '../../src/raft/multi/local-transport.js';
import { RaftHost } from '../../src/raft/multi/raft-host.js';
import { IntervalTicker } from '../../src/raft/node/ticker.js';
import type { RaftNode } from '../../src/raft/node/raft-node.js';
import { NotLeaderError } from '../../src/raft/node/errors.js';
import { KvStateMachine, putCommand } from '../helpers/raft-kv.js';

const GROUP = '1/1';

interface Member {
  id: string;
  host: RaftHost;
  node: RaftNode<number>;
  sm: KvStateMachine;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

class Cluster {
  readonly hub = new LocalHub();
  readonly ticker = new IntervalTicker(20, { keepAlive: true });
  readonly members = new Map<string, Member>();
  readonly registry = new Registry();
  constructor(readonly root: string) {}

  async start(id: string, peers: string[], extra: { snapshotLogEntries?: number } = {}): Promise<Member> {
    const host = new RaftHost(this.hub.connect(id), this.ticker);
    const sm = new KvStateMachine();
    const node = await host.startGroup<number>(GROUP, {
      peers,
      dir: join(this.root, id),
      stateMachine: sm,
      electionTicks: 10,
      heartbeatTicks: 1,
      registry: this.registry,
      requestTimeoutMs: 5000,
      ...extra,
    });
    const m = { id, host, node, sm };
    this.members.set(id, m);
    return m;
  }

  async stop(id: string): Promise<void> {
    const m = this.members.get(id)!;
    this.members.delete(id);
    await m.host.close();
  }

  leader(): Member | undefined {
    const leaders = [...this.members.values()].filter((m) => m.node.isLeader());
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
  }
}

async function withCluster(fn: (c: Cluster) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'raft-cluster-'));
  const c = new Cluster(root);
  try {
    await fn(c);
  } finally {
    await c.closeAll();
    await rm(root, { recursive: true, force: true });
  }
}

const ids = ['a', 'b', 'c'];

/**
 * Runs `op` on the current leader, retrying (bounded) when leadership moves
 * meanwhile: a CPU hiccup on a loaded CI machine may trigger an election.
 */
async function onLeader<T>(c: Cluster, op: (m: Member) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const leader = await waitFor('leader', () => c.leader());
    try {
      return await op(leader);
    } catch (e) {
      if (!(e instanceof NotLeaderError) || attempt >= 5) throw e;
    }
  }
}

test('elects a leader, commits proposals, serves ReadIndex reads, survives leader failover and restart', () =>
  withCluster(async (c) => {
    for (const id of ids) await c.start(id, ids);
    const leader = await waitFor('leader', () => c.leader());
    const follower = [...c.members.values()].find((m) => m !== leader)!;
    await waitFor('follower learns the leader', () => follower.node.leaderId() === leader.id);
    await assert.rejects(follower.node.propose(putCommand('x', '1')), (e: unknown) => e instanceof NotLeaderError && e.leader === leader.id);
    const versions = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.node.propose(putCommand(`k${i % 5}`, `v${i}`))));
    assert.equal(versions.length, 50);
    assert.deepEqual([...versions].sort((a, b) => a - b).slice(-5), [10, 10, 10, 10, 10]);
    await leader.node.linearizableRead();
    assert.equal(leader.sm.data.get('k0')?.version, 10);
    // Group commit: far fewer fsyncs than proposals.
    assert.ok(leader.node.walStats().fsyncs < 50, `fsyncs ${leader.node.walStats().fsyncs}`);

    // Metrics are labelled by group.
    const text = await c.registry.metrics();
    assert.match(text, /curvefs_raft_applied_index\{group="1\/1",node="[abc]"\} \d+/);
    assert.match(text, new RegExp(`curvefs_raft_role\\{group="1/1",node="${leader.id}"\\} 2`));

    // Kill the leader; a new one takes over and keeps the data.
    const oldLeaderId = leader.id;
    await c.stop(oldLeaderId);
    const next = await waitFor('new leader', () => c.leader(), 5000);
    assert.notEqual(next.id, oldLeaderId);
    assert.equal(await onLeader(c, (l) => l.node.propose(putCommand('k0', 'after'))), 11);
    // Restart the old leader from its files: it catches up.
    const back = await c.start(oldLeaderId, ids);
    await waitFor('restarted node catches up', () => back.sm.get('k0') === 'after');
    assert.equal(back.sm.data.get('k0')?.version, 11);
  }));

test('a follower that missed compacted entries is caught up by a streamed snapshot', () =>
  withCluster(async (c) => {
    for (const id of ids) await c.start(id, ids, { snapshotLogEntries: 40 });
    const leader = await waitFor('leader', () => c.leader());
    const lagging = [...c.members.values()].find((m) => m !== leader)!;
    c.hub.isolate(lagging.id);
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => leader.node.propose(putCommand(`s${i}`, `r${round}`))));
    }
    await waitFor('leader compacted its log', () => leader.node.status().snapshotIndex > 60);
    c.hub.heal(lagging.id);
    await waitFor('lagging follower restored from snapshot', () => lagging.sm.get('s29') === 'r3' && lagging.node.status().snapshotIndex > 0);
    assert.equal(lagging.sm.data.get('s0')?.version, 4);
    // And it keeps following after the install.
    await leader.node.propose(putCommand('after-snap', 'yes'));
    await waitFor('follower applies after install', () => lagging.sm.get('after-snap') === 'yes');
  }));

test('membership: add a fourth node, replace a member, transfer leadership', () =>
  withCluster(async (c) => {
    for (const id of ids) await c.start(id, ids);
    await onLeader(c, (l) => l.node.propose(putCommand('m', '1')));
    const d = await c.start('d', []);
    const cs = await onLeader(c, (l) => l.node.addPeer('d'));
    assert.deepEqual([...cs.voters].sort(), ['a', 'b', 'c', 'd']);
    await waitFor('new member catches up', () => d.sm.get('m') === '1');
    const victim = ids.find((id) => id !== c.leader()?.id)!;
    const cs2 = await onLeader(c, (l) => l.node.changePeer(victim, 'e'));
    assert.ok(!cs2.voters.includes(victim) && cs2.voters.includes('e'));
    assert.equal(cs2.votersOutgoing.length, 0);
    await c.stop(victim);
    const e = await c.start('e', []);
    await waitFor('replacement catches up', () => e.sm.get('m') === '1');
    await onLeader(c, (l) => l.node.transferLeader('d'));
    await waitFor('d leads', () => c.members.get('d')!.node.isLeader());
    assert.equal(await onLeader(c, (l) => l.node.propose(putCommand('m', '2'))), 2);
  }));
