/**
 * Snapshots (Raft §7): MemoryStorage compaction and the catch-up of a
 * follower whose missing entries were compacted away (MsgSnap).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage, SnapshotOutOfDateError } from '../../src/raft/core/memory-storage.js';
import { MessageType } from '../../src/raft/core/messages.js';
import { ProgressState } from '../../src/raft/core/progress.js';
import { CompactedError, type Entry, EntryType, UnavailableError } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

const cs = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] };
const e = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: bytes(`e${index}`) });

test('MemoryStorage: entries, terms and bounds follow the RaftStorage contract', () => {
  const s = MemoryStorage.withConfState(cs);
  s.append([e(1, 1), e(2, 1), e(3, 2)]);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 3);
  assert.equal(s.term(0), 0);
  assert.equal(s.term(3), 2);
  assert.throws(() => s.term(4), UnavailableError);
  assert.deepEqual(s.entries(1, 4, Number.MAX_SAFE_INTEGER).map((x) => x.index), [1, 2, 3]);
  // maxBytes limits, but at least one entry comes back.
  assert.equal(s.entries(1, 4, 1).length, 1);
  // Appending at an existing index replaces it and everything after.
  s.append([e(2, 3)]);
  assert.equal(s.lastIndex(), 2);
  assert.equal(s.term(2), 3);
});

test('MemoryStorage: createSnapshot, compact and applySnapshot', () => {
  const s = MemoryStorage.withConfState(cs);
  s.append([e(1, 1), e(2, 1), e(3, 2), e(4, 2)]);
  const snap = s.createSnapshot(3, cs, bytes('state@3'));
  assert.equal(snap.meta.term, 2);
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.term(3), 2);
  assert.throws(() => s.term(2), CompactedError);
  assert.throws(() => s.entries(2, 4, 100), CompactedError);
  assert.throws(() => s.createSnapshot(2, cs, bytes('old')), SnapshotOutOfDateError);
  s.applySnapshot({ meta: { index: 10, term: 5, confState: cs }, data: bytes('state@10') });
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
  assert.throws(() => s.applySnapshot({ meta: { index: 9, term: 5, confState: cs }, data: bytes('x') }), SnapshotOutOfDateError);
});

test('§7: a follower behind the leader compaction point catches up through MsgSnap', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 10; i++) net.peer('a').node.propose(bytes(`w${i}`));
  net.stabilize();
  const a = net.peer('a');
  const applied = a.node.raft.raftLog.applied;
  a.storage.createSnapshot(applied, a.confState, bytes('image'));
  a.storage.compact(applied);
  net.recover();
  net.trace.length = 0;
  net.tickAll(3);
  assert.ok(net.trace.some((t) => t.startsWith('a->c MsgSnap')), 'the leader must send a snapshot');
  const c = net.peer('c');
  assert.equal(c.storage.snapshotMeta().index, applied);
  // After the snapshot c replicates normally again.
  net.peer('a').node.propose(bytes('after-snapshot'));
  net.stabilize();
  assert.deepEqual(net.appliedData('c'), ['after-snapshot']);
  assert.equal(a.node.raft.trk.progress.get('c')!.state, ProgressState.Replicate);
});

test('a failed snapshot transfer (reportSnapshot false) makes the leader probe again', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 4; i++) net.peer('a').node.propose(bytes(`w${i}`));
  net.stabilize();
  const a = net.peer('a');
  const applied = a.node.raft.raftLog.applied;
  a.storage.createSnapshot(applied, a.confState, bytes('image'));
  a.storage.compact(applied);
  net.recover();
  net.filter = (m) => m.type !== MessageType.MsgSnap;
  net.tickAll(2);
  const pr = a.node.raft.trk.progress.get('c')!;
  assert.equal(pr.state, ProgressState.Snapshot);
  a.node.reportSnapshot('c', false);
  assert.equal(pr.state, ProgressState.Probe);
  net.recover();
  net.tickAll(4);
  assert.equal(net.peer('c').storage.snapshotMeta().index, applied);
});

test('a stale MsgSnap (older than the follower commit) is ignored', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  for (let i = 0; i < 4; i++) net.peer('a').node.propose(bytes(`w${i}`));
  net.stabilize();
  const b = net.peer('b');
  const before = b.node.raft.raftLog.committed;
  b.node.step({
    type: MessageType.MsgSnap,
    from: 'a',
    to: 'b',
    term: net.peer('a').node.raft.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: { index: 2, term: 1, confState: cs },
    context: new Uint8Array(0),
  });
  net.stabilize();
  assert.equal(b.node.raft.raftLog.committed, before);
  assert.equal(b.storage.snapshotMeta().index, 1);
});
