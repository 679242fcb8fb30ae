/**
 * One test per problem the simulator found in the core, reduced to a story
 * (the seeds are in the commit history; these keep the fixes honest even if
 * the simulator's schedule changes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/common/random.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { makeMessage, MessageType } from '../../src/raft/core/messages.js';
import { RawNode } from '../../src/raft/core/raw-node.js';
import { ConfChangeTransition, ConfChangeType, EntryType, StateType } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

test('a node with a higher term answers a stale leader even without pre-vote/check-quorum (learner deadlock)', () => {
  // Seed 10064: a learner's term had been inflated by removed nodes; the
  // leader of a lower term sent heartbeats that the learner silently
  // dropped, and the learner cannot campaign, so nobody ever moved on.
  const cs = { voters: ['a', 'b'], votersOutgoing: [], learners: ['l'] };
  const storage = MemoryStorage.bootstrap(cs, new Uint8Array(0));
  storage.setHardState({ term: 9, vote: '', commit: 1 });
  const learner = new RawNode({ id: 'l', storage, random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1 });
  learner.step(makeMessage({ type: MessageType.MsgHeartbeat, from: 'a', to: 'l', term: 3 }));
  const rd = learner.ready();
  const resp = rd.messages.find((m) => m.to === 'a');
  assert.ok(resp !== undefined, 'the stale leader must hear about term 9');
  assert.equal(resp.type, MessageType.MsgAppResp);
  assert.equal(resp.term, 9);
});

test('a leader does not remove or demote itself (joint-config deadlock after a crash)', () => {
  // Seed 11072: the leader demoted itself through a joint config, applied
  // the leave, crashed; the others still needed its vote in the outgoing
  // half while it held the longest log and, as a learner, could not campaign.
  const net = new TestNetwork(['a', 'b', 'c']);
  net.addPeer('d', new MemoryStorage(), 5);
  net.elect('a');
  net.peer('a').node.proposeConfChange({
    transition: ConfChangeTransition.JointImplicit,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 'd' },
      { type: ConfChangeType.AddLearnerNode, nodeId: 'a' },
    ],
    context: new Uint8Array(0),
  });
  net.stabilize();
  assert.deepEqual(net.peer('b').confState.voters, ['a', 'b', 'c']);
  assert.ok(net.peer('b').applied.every((e) => e.type === EntryType.Normal));
  // The supported way: transfer first, then the new leader changes the config.
  net.peer('a').node.transferLeader('b');
  net.stabilize();
  assert.equal(net.peer('b').node.raft.state, StateType.Leader);
  net.peer('b').node.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.RemoveNode, nodeId: 'a' }],
    context: new Uint8Array(0),
  });
  net.stabilize();
  assert.deepEqual(net.peer('b').confState.voters, ['b', 'c']);
});

test('restart with a snapshot newer than the persisted commit index (torn write between them)', () => {
  // Seed 270: the snapshot reached the disk, the hard state written after it did not.
  const cs = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] };
  const storage = MemoryStorage.bootstrap(cs, new Uint8Array(0));
  storage.applySnapshot({ meta: { index: 21, term: 3, confState: cs }, data: bytes('image') });
  storage.setHardState({ term: 3, vote: 'b', commit: 19 });
  const node = new RawNode({ id: 'a', storage, random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1, applied: 21 });
  assert.equal(node.raft.raftLog.committed, 21);
  assert.equal(node.raft.term, 3);
  assert.equal(node.raft.vote, 'b');
});

test('a member added after the last snapshot refuses that snapshot; a fresh one is accepted', () => {
  // Seed 47: the stored snapshot predated the new member, which rejected it
  // forever; drivers now send a fresh snapshot (RawNode docs).
  const cs = { voters: ['a'], votersOutgoing: [], learners: [] };
  const d = new RawNode({ id: 'd', storage: new MemoryStorage(), random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1 });
  d.step(makeMessage({ type: MessageType.MsgSnap, from: 'a', to: 'd', term: 2, snapshot: { index: 40, term: 2, confState: cs } }));
  let rd = d.ready();
  assert.equal(rd.snapshot, undefined);
  assert.equal(rd.messages[0]!.index, 0);
  d.advance(rd);
  const withD = { voters: ['a', 'd'], votersOutgoing: [], learners: [] };
  d.step(makeMessage({ type: MessageType.MsgSnap, from: 'a', to: 'd', term: 2, snapshot: { index: 49, term: 2, confState: withD } }));
  rd = d.ready();
  assert.equal(rd.snapshot?.index, 49);
  assert.equal(rd.messages[0]!.index, 49);
});

test('restart after a torn write kept entries of a newer term than the hard state: adopt the term, no vote', () => {
  // Seed 1017507: a single-voter group elected itself in term 3 and appended
  // in one Ready; the crash kept the entries but not the hard state; the
  // restarted node was leader of term 3 a second time with different entries.
  const cs = { voters: ['a'], votersOutgoing: [], learners: [] };
  const storage = MemoryStorage.bootstrap(cs, new Uint8Array(0));
  storage.setHardState({ term: 2, vote: 'a', commit: 1 });
  storage.append([{ index: 2, term: 3, type: EntryType.Normal, data: new Uint8Array(0) }]);
  const node = new RawNode({ id: 'a', storage, random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1 });
  assert.equal(node.raft.term, 3);
  assert.equal(node.raft.vote, '');
  node.campaign();
  assert.equal(node.raft.state, StateType.Leader);
  assert.equal(node.raft.term, 4);
});

test("a leader counts its own entries only once durable (early MsgApp never carries a commit covering them)", () => {
  // Seed 50001082: a single voter with a learner sent MsgApp(commit=47) before
  // its own fsync of entry 47 (thesis §10.2.1), crashed, and wrote a different
  // entry 47 after restarting, which the learner had already applied.
  const net = new TestNetwork(['a']);
  net.addPeer('l', new MemoryStorage(), 3);
  net.elect('a');
  net.peer('a').node.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: 'l' }],
    context: new Uint8Array(0),
  });
  net.stabilize();
  const a = net.peer('a').node;
  a.propose(bytes('x'));
  const last = a.raft.raftLog.lastIndex();
  const rd = a.ready();
  assert.equal(rd.entries[rd.entries.length - 1]!.index, last);
  for (const m of rd.messages) assert.ok(m.commit < last, `${MessageType[m.type]} carries commit ${m.commit} before the entry is durable`);
  assert.ok(a.raft.raftLog.committed < last);
  // Once persisted and advanced, it commits.
  net.peer('a').storage.append(rd.entries);
  a.advance(rd);
  assert.equal(a.raft.raftLog.committed, last);
});

test('a leader that is only an outgoing voter of a joint config does not leave it (that would remove itself)', () => {
  // Seed 70005047: b entered joint {b,c,d}/{a,b,c} removing a; a then became
  // leader, proposed leaving the joint config, applied it and was no longer a
  // member while the lagging others still needed its vote.
  const net = new TestNetwork(['a', 'b', 'c']);
  net.addPeer('d', new MemoryStorage(), 5);
  net.elect('b');
  net.peer('b').node.proposeConfChange({
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 'd' },
      { type: ConfChangeType.RemoveNode, nodeId: 'a' },
    ],
    context: new Uint8Array(0),
  });
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.votersOutgoing, ['a', 'b', 'c']);
  net.elect('a');
  const leave = { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
  net.peer('a').node.proposeConfChange(leave);
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.votersOutgoing, ['a', 'b', 'c'], 'a refused to leave (empty entry instead)');
  // Transfer to an incoming voter, which then leaves the joint config.
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  assert.equal(net.peer('c').node.raft.state, StateType.Leader);
  net.peer('c').node.proposeConfChange(leave);
  net.stabilize();
  assert.deepEqual(net.peer('c').confState.voters, ['b', 'c', 'd']);
  assert.deepEqual(net.peer('c').confState.votersOutgoing, []);
});
