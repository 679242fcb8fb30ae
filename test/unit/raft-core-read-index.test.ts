/**
 * Linearizable reads without log writes (Raft thesis §6.4): ReadIndex, and
 * the optional lease-based variant.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/common/random.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { MessageType } from '../../src/raft/core/messages.js';
import { RawNode } from '../../src/raft/core/raw-node.js';
import { ReadOnlyOption } from '../../src/raft/core/read-only.js';
import { bytes, TestNetwork } from '../sim/raft-test-network.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('§6.4 ReadIndex on the leader: answered after a heartbeat round confirms leadership', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.propose(bytes('w1'));
  net.stabilize();
  const a = net.peer('a');
  // Hold heartbeat responses: no answer without a quorum's confirmation.
  net.filter = (m) => m.type !== MessageType.MsgHeartbeatResp;
  a.node.readIndex(bytes('r1'));
  net.stabilize();
  assert.equal(a.readStates.length, 0);
  net.recover();
  a.node.readIndex(bytes('r2'));
  net.stabilize();
  const ctxs = a.readStates.map((rs) => text(rs.requestCtx));
  assert.ok(ctxs.includes('r2'));
  for (const rs of a.readStates) assert.equal(rs.index, a.node.raft.raftLog.committed);
});

test('§6.4 ReadIndex from a follower is forwarded and answered with the leader commit index', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.propose(bytes('w1'));
  net.stabilize();
  const b = net.peer('b');
  b.node.readIndex(bytes('from-b'));
  net.stabilize();
  assert.equal(b.readStates.length, 1);
  assert.equal(text(b.readStates[0]!.requestCtx), 'from-b');
  assert.equal(b.readStates[0]!.index, net.peer('a').node.raft.raftLog.committed);
});

test('§6.4: a new leader answers reads only after committing an entry of its own term', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  // b wins, but its no-op cannot commit while appends are dropped.
  net.filter = (m) => m.type !== MessageType.MsgApp;
  net.elect('b');
  const b = net.peer('b');
  b.node.readIndex(bytes('early'));
  net.stabilize();
  assert.equal(b.readStates.length, 0);
  net.recover();
  net.tickAll(2);
  assert.equal(b.readStates.length, 1);
  assert.equal(b.readStates[0]!.index, b.node.raft.raftLog.committed);
});

test('a partitioned old leader cannot answer a ReadIndex (no quorum confirms it)', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.isolate('a');
  net.peer('a').node.readIndex(bytes('stale?'));
  net.stabilize();
  // Meanwhile b is elected and commits a write a does not know about.
  net.elect('b');
  net.peer('b').node.propose(bytes('new'));
  net.stabilize();
  assert.equal(net.peer('a').readStates.length, 0);
});

test('lease-based reads answer at once while the lease holds, and require check-quorum', () => {
  const storage = MemoryStorage.withConfState({ voters: ['a'], votersOutgoing: [], learners: [] });
  assert.throws(
    () =>
      new RawNode({ id: 'a', storage, random: new SeededRandom(1), electionTick: 10, heartbeatTick: 1, readOnlyOption: ReadOnlyOption.LeaseBased }),
    /checkQuorum/,
  );
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  // Lease mode: restarted nodes refuse votes for an election timeout (startup quiet).
  net.tickAll(25);
  const leader = net.leader()!;
  assert.ok(leader !== undefined);
  net.tickAll(2);
  net.filter = (m) => m.type !== MessageType.MsgHeartbeatResp && m.type !== MessageType.MsgHeartbeat;
  leader.node.readIndex(bytes('lease'));
  net.stabilize();
  assert.equal(leader.readStates.length, 1);
});

test('the lease expires before another leader can be elected: an isolated leader stops answering from it', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  net.tickAll(25);
  const leader = net.leader()!;
  net.tickAll(2);
  net.isolate(leader.id);
  // Within electionTick - margin ticks of the last acknowledged heartbeat the lease holds ...
  assert.equal(leader.node.raft.leaseValid(), true);
  for (let i = 0; i < 8; i++) {
    leader.node.tick();
    net.stabilize();
  }
  // ... then it lapses, still as leader (check-quorum has not fired yet): reads
  // fall back to a heartbeat round, which the partition never confirms.
  assert.equal(leader.node.raft.state, 2);
  assert.equal(leader.node.raft.leaseValid(), false);
  leader.node.readIndex(bytes('after-lapse'));
  net.stabilize();
  assert.equal(leader.readStates.length, 0);
});

test('a leader that sent MsgTimeoutNow gives up its lease', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  net.tickAll(25);
  const leader = net.leader()!;
  net.tickAll(2);
  assert.equal(leader.node.raft.leaseValid(), true);
  const other = [...net.peers.keys()].find((id) => id !== leader.id)!;
  net.filter = (m) => m.type !== MessageType.MsgTimeoutNow;
  leader.node.transferLeader(other);
  net.stabilize();
  assert.equal(leader.node.raft.leaseValid(), false);
});

test('several pending reads are released together by one confirmation', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.elect('a');
  net.peer('a').node.propose(bytes('w'));
  net.stabilize();
  net.filter = (m) => m.type !== MessageType.MsgHeartbeatResp;
  for (const r of ['r1', 'r2', 'r3']) net.peer('a').node.readIndex(bytes(r));
  net.stabilize();
  assert.equal(net.peer('a').readStates.length, 0);
  net.recover();
  net.tickAll(1);
  assert.deepEqual(net.peer('a').readStates.map((rs) => text(rs.requestCtx)).sort(), ['r1', 'r2', 'r3']);
});
