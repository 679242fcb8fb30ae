/**
 * Log replication (Raft §5.3), the commit rule (§5.4.2), fast back-off,
 * batching and pipelining with flow control.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/common/random.js';
import { Inflights } from '../../src/raft/core/inflights.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { makeMessage, type Message, MessageType } from '../../src/raft/core/messages.js';
import { ProgressState } from '../../src/raft/core/progress.js';
import { RawNode } from '../../src/raft/core/raw-node.js';
import { type Entry, EntryType, StateType } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: bytes(data) };
}

/** A node whose storage already holds `entries` and hard state `term`. */
function nodeWithLog(id: string, voters: string[], entries: Entry[], term: number): { node: RawNode; storage: MemoryStorage } {
  const storage = MemoryStorage.withConfState({ voters, votersOutgoing: [], learners: [] });
  storage.append(entries);
  storage.setHardState({ term, vote: '', commit: 0 });
  const node = new RawNode({ id, storage, random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1 });
  return { node, storage };
}

/** Handles Readys as a driver would (persisting to storage) and returns the messages. */
function drain(node: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    storage.append(rd.entries);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    out.push(...rd.messages);
    node.advance(rd);
  }
  return out;
}

test('§5.3: the leader replicates entries and followers apply them in order', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  for (const s of ['one', 'two', 'three']) net.peer('a').node.propose(bytes(s));
  net.stabilize();
  for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedData(id), ['one', 'two', 'three']);
});

test('§5.3: a follower proposal is forwarded to the leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  assert.equal(net.peer('b').node.propose(bytes('via-b')), 'ok');
  net.stabilize();
  assert.deepEqual(net.appliedData('c'), ['via-b']);
});

test('a proposal with no known leader is dropped', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  assert.equal(net.peer('b').node.propose(bytes('x')), 'proposal-dropped');
});

test('§5.3 log matching: a follower truncates a conflicting uncommitted suffix', () => {
  // b has entries from an old term 2 leader that never committed them.
  const a = nodeWithLog('a', ['a', 'b'], [ent(1, 1), ent(2, 3)], 3);
  const b = nodeWithLog('b', ['a', 'b'], [ent(1, 1), ent(2, 2, 'stale'), ent(3, 2, 'stale')], 2);
  const net = new TestNetwork([]);
  net.adopt('a', a.node, a.storage);
  net.adopt('b', b.node, b.storage);
  net.elect('a');
  net.peer('a').node.propose(bytes('new'));
  net.stabilize();
  assert.equal(a.node.raft.state, StateType.Leader);
  const bl = b.node.raft.raftLog;
  assert.equal(bl.term(2), 3);
  assert.equal(bl.lastIndex(), a.node.raft.raftLog.lastIndex());
  assert.deepEqual(net.appliedData('b'), ['new']);
  assert.ok(!net.peer('b').applied.some((e) => new TextDecoder().decode(e.data) === 'stale'));
});

test('§5.4.2: a leader never commits an entry of an earlier term by counting replicas (Figure 8)', () => {
  // Leader a in term 3 holds [1:1, 2:1]; it appends its no-op at 3:3.
  const voters = ['a', 'b', 'c', 'd', 'e'];
  const { node, storage } = nodeWithLog('a', voters, [ent(1, 1), ent(2, 1, 'old')], 2);
  node.campaign();
  drain(node, storage);
  for (const id of ['b', 'c']) node.step(makeMessage({ type: MessageType.MsgVoteResp, from: id, to: 'a', term: 3 }));
  drain(node, storage);
  const r = node.raft;
  assert.equal(r.state, StateType.Leader);
  assert.equal(r.term, 3);
  assert.equal(r.raftLog.lastIndex(), 3);
  // A majority (a, b, c) now stores entry 2 of term 1 ...
  for (const id of ['b', 'c']) node.step(makeMessage({ type: MessageType.MsgAppResp, from: id, to: 'a', term: 3, index: 2 }));
  // ... but it must not be committed: a later leader (e, with 2:2) could overwrite it.
  assert.equal(r.raftLog.committed, 0);
  // Once the current-term entry 3 reaches a majority, 3 and everything before it commit.
  for (const id of ['b', 'c']) node.step(makeMessage({ type: MessageType.MsgAppResp, from: id, to: 'a', term: 3, index: 3 }));
  assert.equal(r.raftLog.committed, 3);
});

test('fast back-off: a follower with a long divergent tail is repaired in few round trips', () => {
  // b has 50 entries of a stale term 2; the leader's log has term 3 from index 2.
  const stale: Entry[] = [ent(1, 1)];
  for (let i = 2; i <= 51; i++) stale.push(ent(i, 2, `stale${i}`));
  const good: Entry[] = [ent(1, 1)];
  for (let i = 2; i <= 40; i++) good.push(ent(i, 3, `good${i}`));
  const a = nodeWithLog('a', ['a', 'b', 'c'], good, 3);
  const b = nodeWithLog('b', ['a', 'b', 'c'], stale, 3);
  const net = new TestNetwork([]);
  net.adopt('a', a.node, a.storage);
  net.adopt('b', b.node, b.storage);
  // c is absent: a wins with b's vote.
  net.peer('a').node.campaign();
  net.stabilize();
  assert.equal(a.node.raft.state, StateType.Leader);
  const rejects = net.trace.filter((t) => t.includes('MsgAppResp') && t.includes('rejected')).length;
  // Without the (index, term) hint this takes one rejection per divergent entry (~50).
  assert.ok(rejects <= 3, `too many rejections: ${rejects}`);
  assert.equal(b.node.raft.raftLog.term(40), 3);
  assert.equal(b.node.raft.raftLog.lastIndex(), 41);
});

test('batching: maxSizePerMsg bounds the entries per MsgApp (at least one is always sent)', () => {
  const net = new TestNetwork(['a', 'b'], { maxSizePerMsg: 100 });
  net.elect('a');
  net.trace.length = 0;
  const big = 'x'.repeat(60);
  for (let i = 0; i < 6; i++) net.peer('a').node.propose(bytes(big));
  net.stabilize();
  const apps = net.trace.filter((t) => t.startsWith('a->b MsgApp') && t.includes('entries='));
  for (const t of apps) {
    const n = t.split('entries=[')[1]!.split(']')[0]!.split(',').length;
    assert.ok(n <= 1, `a MsgApp carried ${n} entries of 84 bytes with a 100-byte limit`);
  }
  assert.equal(net.appliedData('b').length, 6);
});

test('pipelining: in StateReplicate at most maxInflightMsgs MsgApps are outstanding', () => {
  const net = new TestNetwork(['a', 'b'], { maxInflightMsgs: 2, maxSizePerMsg: 1 });
  net.elect('a');
  const a = net.peer('a').node;
  const pr = a.raft.trk.progress.get('b')!;
  assert.equal(pr.state, ProgressState.Replicate);
  // Hold b's responses: proposals pile up but only 2 MsgApps leave.
  net.filter = (m) => m.type !== MessageType.MsgAppResp;
  net.queue = [];
  for (let i = 0; i < 10; i++) a.propose(bytes(`p${i}`));
  net.processReady(net.peer('a'));
  const sent = net.queue.filter((m) => m.type === MessageType.MsgApp && m.to === 'b');
  assert.equal(sent.length, 2);
  assert.equal(pr.inflights.count, 2);
  net.recover();
  net.stabilize();
  assert.equal(net.appliedData('b').length, 10);
});

test('flow control: the inflight window is bounded by bytes as well as by count', () => {
  const inf = new Inflights(100, 1000);
  inf.add(1, 400);
  inf.add(2, 400);
  assert.equal(inf.isFull(), false);
  inf.add(3, 400);
  assert.equal(inf.isFull(), true);
  inf.freeLE(2);
  assert.equal(inf.count, 1);
  assert.equal(inf.bytesInFlight, 400);
  assert.equal(inf.isFull(), false);
  inf.freeFirstOne();
  assert.equal(inf.count, 0);
  assert.throws(() => {
    const f = new Inflights(1, 0);
    f.add(1, 1);
    f.add(2, 1);
  });
});

test('a follower that lost unsynced entries in a crash is repaired by the leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.propose(bytes('kept'));
  net.stabilize();
  // c restarts from its storage (everything durable) and catches up with new entries.
  const c = net.peer('c');
  net.addPeer('c', c.storage, 99, c.applied.length > 0 ? c.applied[c.applied.length - 1]!.index : 0);
  net.peer('a').node.propose(bytes('after-restart'));
  net.stabilize();
  assert.equal(net.peer('c').node.raft.raftLog.lastIndex(), net.peer('a').node.raft.raftLog.lastIndex());
  assert.deepEqual(net.appliedData('c'), ['after-restart']);
});

test('maxUncommittedEntriesSize: the leader drops proposals beyond the uncommitted budget', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { maxUncommittedEntriesSize: 100 });
  net.elect('a');
  net.isolate('a');
  const a = net.peer('a').node;
  const results = [];
  for (let i = 0; i < 5; i++) results.push(a.propose(bytes('x'.repeat(40))));
  // The first proposal is always accepted; then 40+40 = 80 fits, 120 does not.
  assert.deepEqual(results, ['ok', 'ok', 'proposal-dropped', 'proposal-dropped', 'proposal-dropped']);
  net.recover();
  net.tickAll(3);
  // Once committed, the budget is free again.
  assert.equal(a.propose(bytes('x'.repeat(40))), 'ok');
});

test('reportUnreachable moves a replicating follower back to probing', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  const pr = net.peer('a').node.raft.trk.progress.get('b')!;
  assert.equal(pr.state, ProgressState.Replicate);
  net.peer('a').node.reportUnreachable('b');
  assert.equal(pr.state, ProgressState.Probe);
  net.peer('a').node.propose(bytes('y'));
  net.stabilize();
  assert.equal(pr.state, ProgressState.Replicate);
  assert.deepEqual(net.appliedData('b'), ['y']);
});

test('skipBcastCommit: a commit advance alone sends no empty MsgApp; followers learn it from the next heartbeat', () => {
  for (const skip of [false, true]) {
    const net = new TestNetwork(['a', 'b', 'c'], { skipBcastCommit: skip });
    net.elect('a');
    const sent: Message[] = [];
    net.filter = (m) => (sent.push(m), true);
    net.peer('a').node.propose(bytes('x'));
    net.stabilize();
    const apps = sent.filter((m) => m.from === 'a' && m.type === MessageType.MsgApp);
    // One MsgApp per follower carries the entry; without skip, one more each carries the commit index.
    assert.equal(apps.length, skip ? 2 : 4, `skip=${skip}: ${apps.length} MsgApps`);
    assert.ok(apps.every((m) => !skip || m.entries.length === 1), 'only appends that carry entries');
    assert.deepEqual(net.appliedData('a'), ['x']);
    assert.deepEqual(net.appliedData('b'), skip ? [] : ['x']);
    // A heartbeat round carries the commit index to the followers.
    net.tickAll(1);
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedData(id), ['x'], `${id} applied after a heartbeat (skip=${skip})`);
  }
});
