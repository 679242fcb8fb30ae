/**
 * Async leader append (RawNode.advance(rd, false) + appendDurable): the
 * leader advances its Ready before its own write is durable, and its copy
 * counts toward the quorum only once appendDurable reports it. So with three
 * voters an entry commits on the two followers' acks alone, or on one
 * follower's ack plus the leader's durable write, never on one ack while the
 * leader's write is in flight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType } from '../../src/raft/core/messages.js';
import type { Ready } from '../../src/raft/core/raw-node.js';
import { bytes, TestNetwork, type TestPeer } from '../sim/raft-test-network.js';

/** One leader Ready handled the async way: entries stored (not yet durable), MsgApps out, advanced. */
function leaderReadyAsync(net: TestNetwork, p: TestPeer): Ready {
  const rd = p.node.ready();
  assert.equal(rd.snapshot, undefined);
  p.storage.append(rd.entries);
  if (rd.hardState !== undefined) p.storage.setHardState(rd.hardState);
  for (const m of rd.messages) net.queue.push(m);
  for (const e of rd.committedEntries) p.applied.push(e);
  p.node.advance(rd, false);
  return rd;
}

/** Delivers the queued messages to `to` only, and runs its Readys (synchronous driver); returns its replies. */
function followerRound(net: TestNetwork, to: string): void {
  const mine = net.queue.filter((m) => m.to === to);
  net.queue = net.queue.filter((m) => m.to !== to);
  for (const m of mine) net.deliver(m);
  while (net.processReady(net.peer(to))) {
    // bounded: a follower's Readys drain once the messages are handled
  }
}

function setup(): { net: TestNetwork; a: TestPeer; index: number; term: number } {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  const a = net.peer('a');
  assert.equal(a.node.propose(bytes('x')), 'ok');
  const rd = leaderReadyAsync(net, a);
  assert.equal(rd.entries.length, 1);
  const e = rd.entries[0]!;
  return { net, a, index: e.index, term: e.term };
}

function acksTo(net: TestNetwork, leader: string): void {
  const acks = net.queue.filter((m) => m.to === leader && m.type === MessageType.MsgAppResp);
  net.queue = net.queue.filter((m) => !acks.includes(m));
  for (const m of acks) net.deliver(m);
}

test('async leader append: one follower ack does not commit while the leader write is in flight', () => {
  const { net, a, index } = setup();
  followerRound(net, 'b');
  acksTo(net, 'a');
  assert.ok(a.node.raft.raftLog.committed < index, 'leader + one follower ack, leader not durable: not committed');
  // The entry is not handed out again.
  assert.ok(!a.node.hasReady() || a.node.ready().entries.length === 0);
});

test('async leader append: both followers acks commit without the leader write', () => {
  const { net, a, index } = setup();
  followerRound(net, 'b');
  followerRound(net, 'c');
  acksTo(net, 'a');
  assert.equal(a.node.raft.raftLog.committed, index);
  // The committed entry can be applied at once.
  const rd = a.node.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => new TextDecoder().decode(e.data)),
    ['x'],
  );
  assert.equal(rd.entries.length, 0, 'in-progress entries are not written twice');
});

test('async leader append: one follower ack plus the durable leader write commit', () => {
  const { net, a, index, term } = setup();
  followerRound(net, 'b');
  acksTo(net, 'a');
  assert.ok(a.node.raft.raftLog.committed < index);
  a.node.appendDurable(index, term);
  assert.equal(a.node.raft.raftLog.committed, index);
  assert.equal(a.node.raft.raftLog.unstable.entries.length, 0, 'durable entries leave the unstable tail');
});

test('async leader append: a report for replaced entries is ignored', () => {
  const { net, a, index, term } = setup();
  // Cut the leader off; b wins a later term and its entries replace a's unreplicated one.
  net.queue = [];
  net.isolate('a');
  net.elect('b');
  net.peer('b').node.propose(bytes('y'));
  net.stabilize();
  net.recover();
  net.tickAll(3);
  assert.notEqual(a.node.raft.raftLog.term(index), term, 'the entry at the index was replaced');
  const committed = a.node.raft.raftLog.committed;
  a.node.appendDurable(index, term);
  assert.equal(a.node.raft.raftLog.committed, committed);
  assert.deepEqual(net.appliedData('a'), net.appliedData('b'));
  assert.ok(!net.appliedData('a').includes('x'));
});
