/**
 * Leader election (Raft §5.2, §5.4.1) and pre-vote (§9.6) on the pure core.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType } from '../../src/raft/core/messages.js';
import { StateType } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

test('§5.2: a candidate with votes from a majority becomes leader, others follow it', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  const a = net.peer('a').node.raft;
  assert.equal(a.state, StateType.Leader);
  assert.equal(a.term, 2);
  for (const id of ['b', 'c']) {
    const r = net.peer(id).node.raft;
    assert.equal(r.state, StateType.Follower);
    assert.equal(r.lead, 'a');
    assert.equal(r.vote, 'a');
  }
});

test('§5.2: election timeout with randomized jitter elects exactly one leader', () => {
  const net = new TestNetwork(['a', 'b', 'c', 'd', 'e'], {}, 42);
  net.tickAll(40);
  const leaders = [...net.peers.values()].filter((p) => p.node.raft.state === StateType.Leader);
  assert.equal(leaders.length, 1);
});

test('§5.2: each server votes for at most one candidate per term', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  // Both a and b campaign in term 1 before hearing from each other.
  net.peer('a').node.campaign();
  net.peer('b').node.campaign();
  net.stabilize();
  const leaders = [...net.peers.values()].filter((p) => p.node.raft.state === StateType.Leader);
  assert.ok(leaders.length <= 1);
  const c = net.peer('c').node.raft;
  assert.ok(c.vote === 'a' || c.vote === 'b');
});

test('§5.4.1: a voter denies its vote to a candidate whose log is less up-to-date', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  net.peer('a').node.propose(bytes('x'));
  net.stabilize();
  net.recover();
  // c's log lacks 'x': b refuses it (a is up to date too).
  net.filter = (m) => m.type !== MessageType.MsgApp && m.type !== MessageType.MsgHeartbeat;
  net.peer('c').node.campaign();
  net.stabilize();
  assert.notEqual(net.peer('c').node.raft.state, StateType.Leader);
});

test('§5.1: a node seeing a higher term steps down to follower', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.elect('b');
  assert.equal(net.peer('a').node.raft.state, StateType.Follower);
  assert.equal(net.peer('a').node.raft.term, 3);
  assert.equal(net.peer('a').node.raft.lead, 'b');
});

test('§9.6 pre-vote: a partitioned node does not inflate its term or disrupt the leader on return', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
  net.elect('a');
  net.isolate('c');
  // c times out repeatedly while partitioned; pre-vote fails, its term stays.
  for (let i = 0; i < 50; i++) {
    net.peer('c').node.tick();
    net.stabilize();
  }
  assert.equal(net.peer('c').node.raft.term, 2);
  net.recover();
  net.tickAll(5);
  assert.equal(net.peer('a').node.raft.state, StateType.Leader);
  assert.equal(net.peer('a').node.raft.term, 2);
});

test('without pre-vote the returning node disrupts the leader (the behaviour pre-vote prevents)', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 50; i++) {
    net.peer('c').node.tick();
    net.stabilize();
  }
  assert.ok(net.peer('c').node.raft.term > 2);
  net.recover();
  net.tickAll(30);
  assert.ok(net.peer('a').node.raft.term > 2);
});

test('check-quorum: a leader that cannot hear from a quorum steps down within an election timeout', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: true });
  net.elect('a');
  net.isolate('a');
  for (let i = 0; i < 2 * 10 + 1; i++) {
    net.peer('a').node.tick();
    net.stabilize();
  }
  assert.equal(net.peer('a').node.raft.state, StateType.Follower);
});

test('check-quorum leader stickiness: followers that hear a leader ignore a disruptive vote request', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: true });
  net.elect('a');
  // c campaigns though the leader is alive: b refuses (in lease), a ignores.
  net.peer('c').node.campaign();
  net.stabilize();
  assert.equal(net.peer('a').node.raft.state, StateType.Leader);
  assert.equal(net.peer('b').node.raft.lead, 'a');
});

test('a single-voter group elects itself and commits alone', () => {
  const net = new TestNetwork(['a']);
  net.elect('a');
  net.peer('a').node.propose(bytes('solo'));
  net.stabilize();
  assert.deepEqual(net.appliedData('a'), ['solo']);
});

test('a learner never campaigns', () => {
  const net = new TestNetwork(['a', 'b']);
  net.elect('a');
  const p = net.peer('b');
  p.node.applyConfChange({ transition: 0, changes: [{ type: 2, nodeId: 'b' }], context: new Uint8Array(0) });
  for (let i = 0; i < 100; i++) p.node.tick();
  assert.notEqual(p.node.raft.state, StateType.Candidate);
  assert.notEqual(p.node.raft.state, StateType.PreCandidate);
});
