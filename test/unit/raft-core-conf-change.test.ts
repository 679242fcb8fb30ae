/**
 * Membership changes (Raft §6): single-node add/remove, learners, joint
 * consensus (enter, auto-leave, explicit leave), and the quorum math they
 * rest on, checked against brute force.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeConfChange } from '../../src/raft/core/codec.js';
import { restoreConfig } from '../../src/raft/core/conf-change.js';
import { ProgressTracker } from '../../src/raft/core/progress-tracker.js';
import {
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
  VoteResult,
} from '../../src/raft/core/quorum.js';
import { type ConfChange, ConfChangeTransition, ConfChangeType, EntryType, StateType } from '../../src/raft/core/types.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

const empty = new Uint8Array(0);
const add = (id: string): ConfChange => ({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddNode, nodeId: id }], context: empty });
const remove = (id: string): ConfChange => ({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.RemoveNode, nodeId: id }], context: empty });
const learner = (id: string): ConfChange => ({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: id }], context: empty });

/** A network with a, b, c as voters and d as an empty node not yet in the cluster. */
function withSpare(): TestNetwork {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.addPeer('d', new MemoryStorage(), 77);
  return net;
}

test('§6 single-node change: a new voter is added, catches up and counts toward the quorum', () => {
  const net = withSpare();
  net.elect('a');
  net.peer('a').node.propose(bytes('before'));
  net.stabilize();
  net.peer('a').node.proposeConfChange(add('d'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'b', 'c', 'd']);
  assert.deepEqual(net.peer('d').confState.voters, ['a', 'b', 'c', 'd']);
  // d caught up (from a snapshot: the store predates it, so it was sent a fresh one).
  assert.equal(net.peer('d').node.raft.raftLog.committed, net.peer('a').node.raft.raftLog.committed);
  // With 4 voters a quorum is 3: b and c down means nothing commits.
  net.isolate('b');
  net.isolate('c');
  const before = net.peer('a').node.raft.raftLog.committed;
  net.peer('a').node.propose(bytes('needs-3'));
  net.stabilize();
  assert.equal(net.peer('a').node.raft.raftLog.committed, before);
});

test('§6 single-node change: a removed voter no longer counts', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.proposeConfChange(remove('c'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'b']);
  net.isolate('c');
  net.peer('a').node.propose(bytes('ab'));
  net.stabilize();
  assert.deepEqual(net.appliedData('b'), ['ab']);
});

test('a leader refuses to remove itself (transfer leadership first)', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.proposeConfChange(remove('a'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'b', 'c']);
  // The slot became an empty normal entry: nothing else is disturbed.
  assert.ok(net.peer('b').applied.every((e) => e.type === EntryType.Normal));
});

test('learners receive the log but do not vote; promotion makes them voters', () => {
  const net = withSpare();
  net.elect('a');
  net.peer('a').node.proposeConfChange(learner('d'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.learners, ['d']);
  net.peer('a').node.propose(bytes('to-learner'));
  net.stabilize();
  assert.deepEqual(net.appliedData('d'), ['to-learner']);
  // Two voters down: a learner cannot make a quorum.
  net.isolate('b');
  net.isolate('c');
  const committed = net.peer('a').node.raft.raftLog.committed;
  net.peer('a').node.propose(bytes('x'));
  net.stabilize();
  assert.equal(net.peer('a').node.raft.raftLog.committed, committed);
  net.recover();
  net.tickAll(3);
  net.peer('a').node.proposeConfChange(add('d'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'b', 'c', 'd']);
  assert.deepEqual(net.peer('a').confState.learners, []);
});

test('only one conf change may be pending at a time', () => {
  const net = withSpare();
  net.elect('a');
  net.peer('a').node.proposeConfChange(learner('d'));
  net.peer('a').node.proposeConfChange(remove('c'));
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.learners, ['d']);
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'b', 'c']);
});

test('§6 joint consensus: replacing a voter enters a joint config and leaves it automatically', () => {
  const net = withSpare();
  net.elect('a');
  const cc: ConfChange = {
    transition: ConfChangeTransition.Auto,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 'd' },
      { type: ConfChangeType.RemoveNode, nodeId: 'c' },
    ],
    context: empty,
  };
  net.peer('a').node.proposeConfChange(cc);
  // Apply the joint entry everywhere, but watch for the intermediate state.
  let sawJoint = false;
  for (let i = 0; i < 50; i++) {
    for (const p of net.peers.values()) net.processReady(p);
    if (net.peer('a').confState.votersOutgoing.length > 0) sawJoint = true;
    const q = net.queue;
    net.queue = [];
    for (const m of q) net.deliver(m);
  }
  net.stabilize();
  assert.ok(sawJoint, 'the joint configuration must be observed');
  const cs = net.peer('a').confState;
  assert.deepEqual(cs.voters, ['a', 'b', 'd']);
  assert.deepEqual(cs.votersOutgoing, []);
  assert.deepEqual(net.peer('d').confState.voters, ['a', 'b', 'd']);
});

test('§6 joint consensus: in a joint config a decision needs a majority of BOTH configurations', () => {
  const net = withSpare();
  net.elect('a');
  net.peer('a').node.proposeConfChange({
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 'd' },
      { type: ConfChangeType.RemoveNode, nodeId: 'b' },
      { type: ConfChangeType.RemoveNode, nodeId: 'c' },
    ],
    context: empty,
  });
  net.stabilize();
  const cs = net.peer('a').confState;
  assert.deepEqual(cs.voters, ['a', 'd']);
  assert.deepEqual(cs.votersOutgoing, ['a', 'b', 'c']);
  // a and d form the new majority but not the old one: nothing commits.
  net.isolate('b');
  net.isolate('c');
  const committed = net.peer('a').node.raft.raftLog.committed;
  net.peer('a').node.propose(bytes('joint'));
  net.stabilize();
  assert.equal(net.peer('a').node.raft.raftLog.committed, committed);
  net.recover();
  net.tickAll(3);
  assert.deepEqual(net.appliedData('d'), ['joint']);
  // Explicit transition: the application leaves the joint config itself.
  net.peer('a').node.proposeConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: empty });
  net.stabilize();
  assert.deepEqual(net.peer('a').confState.voters, ['a', 'd']);
  assert.deepEqual(net.peer('a').confState.votersOutgoing, []);
  net.isolate('b');
  net.isolate('c');
  net.peer('a').node.propose(bytes('after'));
  net.stabilize();
  assert.deepEqual(net.appliedData('d'), ['joint', 'after']);
});

test('a node removed from the config stops counting and a new leader can be elected without it', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.proposeConfChange(remove('c'));
  net.stabilize();
  net.isolate('c');
  net.elect('b');
  assert.equal(net.peer('b').node.raft.state, StateType.Leader);
});

test('restoreConfig rebuilds joint configs with learners from a ConfState', () => {
  const trk = new ProgressTracker(8, 0);
  const res = restoreConfig(trk, 10, {
    voters: ['a', 'd'],
    votersOutgoing: ['a', 'b', 'c'],
    learners: ['e'],
    learnersNext: ['b'],
    autoLeave: true,
  });
  assert.ok(res.ok);
  const cs = trk.confState();
  assert.deepEqual(cs.voters, ['a', 'd']);
  assert.deepEqual(cs.votersOutgoing, ['a', 'b', 'c']);
  assert.deepEqual(cs.learners, ['e']);
  assert.deepEqual(cs.learnersNext, ['b']);
  assert.equal(cs.autoLeave, true);
});

test('an encoded ConfChange entry is what proposeConfChange puts in the log', () => {
  const net = withSpare();
  net.elect('a');
  net.peer('a').node.proposeConfChange(learner('d'));
  net.stabilize();
  const e = net.peer('b').applied.find((x) => x.type === EntryType.ConfChange)!;
  assert.deepEqual(e.data, encodeConfChange(learner('d')));
});

// ---- quorum math against brute force -------------------------------------------------

function naiveCommitted(voters: string[], acked: Map<string, number>): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  // The largest index i such that a majority has acked >= i.
  let best = 0;
  const candidates = new Set([0, ...voters.map((v) => acked.get(v) ?? 0)]);
  for (const i of candidates) {
    const n = voters.filter((v) => (acked.get(v) ?? 0) >= i).length;
    if (n > voters.length / 2 && i > best) best = i;
  }
  return best;
}

function naiveVote(voters: string[], votes: Map<string, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  // Won if already a majority; Pending if the missing votes could still make one.
  const yes = voters.filter((v) => votes.get(v) === true).length;
  const missing = voters.filter((v) => !votes.has(v)).length;
  if (yes > voters.length / 2) return VoteResult.Won;
  if (yes + missing > voters.length / 2) return VoteResult.Pending;
  return VoteResult.Lost;
}

const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const arbSubset = fc.subarray(ids);

test('quorum: majority and joint committed index agree with brute force', () => {
  fc.assert(
    fc.property(arbSubset, arbSubset, fc.array(fc.nat(20), { minLength: 7, maxLength: 7 }), (inc, out, idx) => {
      const acked = new Map(ids.map((id, i) => [id, idx[i]!]));
      const m = majorityCommittedIndex(new Set(inc), (id) => acked.get(id));
      assert.equal(m, naiveCommitted(inc, acked));
      const j = jointCommittedIndex(new Set(inc), new Set(out), (id) => acked.get(id));
      assert.equal(j, Math.min(naiveCommitted(inc, acked), naiveCommitted(out, acked)));
    }),
    { numRuns: 500 },
  );
});

test('quorum: majority and joint vote results agree with brute force', () => {
  fc.assert(
    fc.property(arbSubset, arbSubset, fc.array(fc.constantFrom(true, false, undefined), { minLength: 7, maxLength: 7 }), (inc, out, vs) => {
      const votes = new Map<string, boolean>();
      ids.forEach((id, i) => {
        if (vs[i] !== undefined) votes.set(id, vs[i]!);
      });
      assert.equal(majorityVoteResult(new Set(inc), votes), naiveVote(inc, votes));
      const a = naiveVote(inc, votes);
      const b = naiveVote(out, votes);
      const expected = a === b ? a : a === VoteResult.Lost || b === VoteResult.Lost ? VoteResult.Lost : VoteResult.Pending;
      assert.equal(jointVoteResult(new Set(inc), new Set(out), votes), expected);
    }),
    { numRuns: 500 },
  );
});
