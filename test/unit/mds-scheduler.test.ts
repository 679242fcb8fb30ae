import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlacementMetaServer } from '../../mds/placement/placement.js';
import { isMetaServerOnline, planSchedule, type ScheduleCopyset } from '../../mds/placement/scheduler.js';

const ms = (id: number, zone: string, isOnline = true, copysetCount = 1): PlacementMetaServer => ({
  id,
  zone,
  server: `h${id}`,
  isOnline,
  copysetCount,
});
const cs = (copysetId: number, peers: number[], leader: number, epoch = 3): ScheduleCopyset => ({ poolId: 1, copysetId, epoch, peers, leader });

test('online by heartbeat age', () => {
  assert.equal(isMetaServerOnline(1000, 5000, 5000), true);
  assert.equal(isMetaServerOnline(1000, 6000, 5000), false);
});

test('an offline replica is replaced on a healthy metaserver in the missing zone', () => {
  const ops = planSchedule({
    metaservers: [ms(1, 'a'), ms(2, 'b'), ms(3, 'c', false), ms(4, 'a', true, 0), ms(5, 'c', true, 2)],
    copysets: [cs(7, [1, 2, 3], 1)],
    busyCopysets: new Set(),
    opsMax: 4,
  });
  assert.deepEqual(ops, [{ kind: 'changePeer', poolId: 1, copysetId: 7, epoch: 3, remove: 3, add: 5 }]);
});

test('replacements spread load across candidates within one round', () => {
  const ops = planSchedule({
    metaservers: [ms(1, 'a'), ms(2, 'b'), ms(3, 'c', false), ms(4, 'c', true, 0), ms(5, 'c', true, 0)],
    copysets: [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 3], 2)],
    busyCopysets: new Set(),
    opsMax: 4,
  });
  assert.deepEqual(ops.map((op) => (op.kind === 'changePeer' ? op.add : 0)), [4, 5]);
});

test('no change without a live leader or a majority, none for busy copysets, bounded by opsMax', () => {
  const metaservers = [ms(1, 'a', false), ms(2, 'b', false), ms(3, 'c'), ms(4, 'a'), ms(5, 'b')];
  assert.deepEqual(planSchedule({ metaservers, copysets: [cs(1, [1, 2, 3], 3)], busyCopysets: new Set(), opsMax: 4 }), []);
  const some = [ms(1, 'a'), ms(2, 'b'), ms(3, 'c', false), ms(4, 'c')];
  assert.deepEqual(planSchedule({ metaservers: some, copysets: [cs(1, [1, 2, 3], 3)], busyCopysets: new Set(), opsMax: 4 }), []);
  assert.deepEqual(planSchedule({ metaservers: some, copysets: [cs(1, [1, 2, 3], 1)], busyCopysets: new Set(['1/1']), opsMax: 4 }), []);
  assert.equal(planSchedule({ metaservers: some, copysets: [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 3], 1)], busyCopysets: new Set(), opsMax: 1 }).length, 1);
});

test('no candidate outside the copyset: nothing to do', () => {
  const ops = planSchedule({ metaservers: [ms(1, 'a'), ms(2, 'b'), ms(3, 'c', false)], copysets: [cs(1, [1, 2, 3], 1)], busyCopysets: new Set(), opsMax: 4 });
  assert.deepEqual(ops, []);
});

test('leaders move from the busiest metaserver until gaps are below 2', () => {
  const metaservers = [ms(1, 'a'), ms(2, 'b'), ms(3, 'c')];
  const copysets = [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 3], 1), cs(3, [1, 2, 3], 1)];
  const ops = planSchedule({ metaservers, copysets, busyCopysets: new Set(), opsMax: 10 });
  assert.equal(ops.length, 2);
  assert.ok(ops.every((op) => op.kind === 'transferLeader' && op.from === 1));
  assert.deepEqual(ops.map((op) => (op.kind === 'transferLeader' ? op.to : 0)).sort(), [2, 3]);
  // Balanced already: nothing.
  const balanced = [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 3], 2), cs(3, [1, 2, 3], 3)];
  assert.deepEqual(planSchedule({ metaservers, copysets: balanced, busyCopysets: new Set(), opsMax: 10 }), []);
});

test('re-replication comes before leader balance and the same copyset is not also rebalanced', () => {
  const metaservers = [ms(1, 'a'), ms(2, 'b'), ms(3, 'c', false), ms(4, 'c', true, 0)];
  const copysets = [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 4], 1), cs(3, [1, 2, 4], 1)];
  const ops = planSchedule({ metaservers, copysets, busyCopysets: new Set(), opsMax: 10 });
  assert.equal(ops[0]!.kind, 'changePeer');
  assert.ok(ops.slice(1).every((op) => op.kind === 'transferLeader' && op.copysetId !== 1));
});

test('copyset balance: one replica moves from the fullest to the emptiest metaserver, keeping zones', () => {
  // Metaserver 4 (zone c) joined late and hosts nothing; 3 (zone c) hosts all three copysets.
  const metaservers = [ms(1, 'a', true, 3), ms(2, 'b', true, 3), ms(3, 'c', true, 3), ms(4, 'c', true, 0)];
  const copysets = [cs(1, [1, 2, 3], 1), cs(2, [1, 2, 3], 2), cs(3, [1, 2, 3], 3)];
  const ops = planSchedule({ metaservers, copysets, busyCopysets: new Set(), opsMax: 4 });
  // Moving 1 or 2 to 4 would lose a zone; 3 → 4 keeps a, b, c.
  assert.deepEqual(ops, [{ kind: 'changePeer', poolId: 1, copysetId: 1, epoch: 3, remove: 3, add: 4 }]);
  // Nothing while anything is busy, or when the gap is below 2.
  assert.deepEqual(planSchedule({ metaservers, copysets, busyCopysets: new Set(['1/2']), opsMax: 4 }), []);
  const even = [ms(1, 'a', true, 3), ms(2, 'b', true, 3), ms(3, 'c', true, 2), ms(4, 'c', true, 1)];
  assert.deepEqual(planSchedule({ metaservers: even, copysets, busyCopysets: new Set(), opsMax: 4 }), []);
});

test('property: operations are always well-formed', async () => {
  const fc = (await import('fast-check')).default;
  const arbitrary = fc.record({
    servers: fc.array(fc.record({ zone: fc.constantFrom('a', 'b', 'c', 'd'), online: fc.boolean(), load: fc.nat(6) }), { minLength: 3, maxLength: 9 }),
    copysets: fc.array(fc.record({ pick: fc.array(fc.nat(8), { minLength: 3, maxLength: 3 }), leaderIndex: fc.nat(3) }), { maxLength: 8 }),
    opsMax: fc.integer({ min: 0, max: 5 }),
  });
  fc.assert(
    fc.property(arbitrary, ({ servers, copysets, opsMax }) => {
      const metaservers = servers.map((s, i) => ms(i + 1, s.zone, s.online, s.load));
      const sets = copysets
        .map((c, i) => {
          const peers = [...new Set(c.pick.map((p) => (p % metaservers.length) + 1))];
          return cs(i + 1, peers, c.leaderIndex < peers.length ? peers[c.leaderIndex]! : 0);
        })
        .filter((c) => c.peers.length === 3);
      const ops = planSchedule({ metaservers, copysets: sets, busyCopysets: new Set(), opsMax });
      assert.ok(ops.length <= opsMax);
      assert.equal(new Set(ops.map((op) => op.copysetId)).size, ops.length, 'one operation per copyset');
      for (const op of ops) {
        const c = sets.find((x) => x.copysetId === op.copysetId)!;
        if (op.kind === 'changePeer') {
          assert.ok(c.peers.includes(op.remove) && !c.peers.includes(op.add));
          assert.ok(metaservers.find((m) => m.id === op.add)!.isOnline, 'never onto an offline metaserver');
        } else {
          assert.equal(op.from, c.leader);
          assert.ok(c.peers.includes(op.to) && op.to !== op.from);
        }
      }
      return true;
    }),
    { numRuns: 500, seed: 1234 },
  );
});
