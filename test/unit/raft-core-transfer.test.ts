/**
 * Leadership transfer (Raft thesis §3.10): the leader brings the transferee
 * up to date, sends MsgTimeoutNow, and the transferee campaigns at once,
 * bypassing pre-vote and leader stickiness.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType } from '../../src/raft/core/messages.js';
import { StateType } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

test('transfer to an up-to-date follower: it becomes leader in the next term', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  const term = net.peer('a').node.raft.term;
  net.peer('a').node.transferLeader('b');
  net.stabilize();
  assert.equal(net.peer('b').node.raft.state, StateType.Leader);
  assert.equal(net.peer('b').node.raft.term, term + 1);
  assert.equal(net.peer('a').node.raft.state, StateType.Follower);
});

test('transfer works with pre-vote and check-quorum on (MsgTimeoutNow forces the vote)', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
  net.elect('a');
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  assert.equal(net.peer('c').node.raft.state, StateType.Leader);
});

test('transfer to a lagging follower first catches it up, then sends MsgTimeoutNow', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 5; i++) net.peer('a').node.propose(bytes(`w${i}`));
  net.stabilize();
  net.recover();
  net.trace.length = 0;
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  const appIdx = net.trace.findIndex((t) => t.startsWith('a->c MsgApp'));
  const timeoutIdx = net.trace.findIndex((t) => t.startsWith('a->c MsgTimeoutNow'));
  assert.ok(appIdx >= 0 && timeoutIdx > appIdx, 'MsgApp must precede MsgTimeoutNow');
  assert.equal(net.peer('c').node.raft.state, StateType.Leader);
  assert.deepEqual(net.appliedData('c'), ['w0', 'w1', 'w2', 'w3', 'w4']);
});

test('proposals are dropped while a transfer is in progress', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  assert.equal(net.peer('a').node.raft.leadTransferee, 'c');
  assert.equal(net.peer('a').node.propose(bytes('during')), 'proposal-dropped');
});

test('a transfer that does not finish within an election timeout is aborted', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  for (let i = 0; i < 11; i++) {
    net.peer('a').node.tick();
    net.stabilize();
  }
  assert.equal(net.peer('a').node.raft.leadTransferee, '');
  assert.equal(net.peer('a').node.raft.state, StateType.Leader);
  assert.equal(net.peer('a').node.propose(bytes('after-abort')), 'ok');
});

test('a follower forwards a transfer request to the leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('b').node.transferLeader('b');
  net.stabilize();
  assert.equal(net.peer('b').node.raft.state, StateType.Leader);
});

test('transfer to a learner is ignored', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.proposeConfChange({
    transition: 0,
    changes: [{ type: 2, nodeId: 'c' }],
    context: new Uint8Array(0),
  });
  net.stabilize();
  net.trace.length = 0;
  net.peer('a').node.transferLeader('c');
  net.stabilize();
  assert.equal(net.peer('a').node.raft.state, StateType.Leader);
  assert.ok(!net.trace.some((t) => t.includes(MessageType[MessageType.MsgTimeoutNow])));
});
