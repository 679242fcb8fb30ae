import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  chooseCopysetPeers,
  choosePartitionCopyset,
  copysetTargetCount,
  pickSpread,
  PARTITIONS_PER_COPYSET_MAX,
  type PlacementMetaServer,
} from '../../mds/placement/placement.js';

const ms = (id: number, zone: string, server: string, copysetCount = 0, isOnline = true): PlacementMetaServer => ({
  id,
  zone,
  server,
  copysetCount,
  isOnline,
});

test('three zones: one replica per zone, least loaded within each zone', () => {
  const servers = [ms(1, 'a', 'h1', 5), ms(2, 'a', 'h2', 1), ms(3, 'b', 'h3', 2), ms(4, 'c', 'h4', 0), ms(5, 'b', 'h5', 9)];
  const peers = chooseCopysetPeers(servers)!;
  assert.equal(peers.length, 3);
  const zones = peers.map((id) => servers.find((s) => s.id === id)!.zone);
  assert.deepEqual([...zones].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...peers].sort(), [2, 3, 4]);
});

test('fewer zones than replicas: distinct servers', () => {
  const servers = [ms(1, 'a', 'h1'), ms(2, 'a', 'h1'), ms(3, 'a', 'h2'), ms(4, 'b', 'h3')];
  const peers = chooseCopysetPeers(servers)!;
  const hosts = peers.map((id) => servers.find((s) => s.id === id)!.server);
  assert.equal(new Set(hosts).size, 3);
});

test('offline metaservers are never chosen; fewer than 3 online gives undefined', () => {
  assert.equal(chooseCopysetPeers([ms(1, 'a', 'h1'), ms(2, 'b', 'h2'), ms(3, 'c', 'h3', 0, false)]), undefined);
  const peers = chooseCopysetPeers([ms(1, 'a', 'h1'), ms(2, 'b', 'h2'), ms(3, 'c', 'h3', 0, false), ms(4, 'c', 'h4', 7)])!;
  assert.deepEqual([...peers].sort(), [1, 2, 4]);
});

test('a replacement goes to the zone the remaining replicas miss', () => {
  const remaining = [ms(1, 'a', 'h1'), ms(2, 'b', 'h2')];
  const candidates = [ms(4, 'a', 'h4', 0), ms(5, 'c', 'h5', 10), ms(6, 'b', 'h6', 0)];
  assert.deepEqual(pickSpread(candidates, remaining, 1).map((m) => m.id), [5]);
});

test('copyset target count and partition placement', () => {
  assert.equal(copysetTargetCount(2), 0);
  assert.equal(copysetTargetCount(3), 3);
  assert.equal(copysetTargetCount(6), 6);
  assert.deepEqual(choosePartitionCopyset([], 3), { kind: 'new' });
  const copysets = [
    { key: '1/1', partitionCount: 3, isHealthy: true },
    { key: '1/2', partitionCount: 1, isHealthy: true },
    { key: '1/3', partitionCount: 0, isHealthy: false },
  ];
  // Below the target (3 healthy wanted, 2 exist): a new copyset.
  assert.deepEqual(choosePartitionCopyset(copysets, 3), { kind: 'new' });
  assert.deepEqual(choosePartitionCopyset([...copysets, { key: '1/4', partitionCount: 2, isHealthy: true }], 3), {
    kind: 'existing',
    key: '1/2',
  });
  const full = [1, 2, 3].map((i) => ({ key: `1/${i}`, partitionCount: PARTITIONS_PER_COPYSET_MAX, isHealthy: true }));
  assert.deepEqual(choosePartitionCopyset(full, 3), { kind: 'new' });
});

test('property: picks are distinct, online, and use as many zones as possible', () => {
  const arbitraryServers = fc.array(
    fc.record({ zone: fc.constantFrom('a', 'b', 'c', 'd'), server: fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5'), load: fc.nat(20), online: fc.boolean() }),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(arbitraryServers, (specs) => {
      const servers = specs.map((s, i) => ms(i + 1, s.zone, `${s.zone}-${s.server}`, s.load, s.online));
      const online = servers.filter((s) => s.isOnline);
      const peers = chooseCopysetPeers(servers);
      if (online.length < 3) return peers === undefined;
      assert.ok(peers !== undefined);
      assert.equal(new Set(peers).size, 3);
      const chosen = peers.map((id) => servers.find((s) => s.id === id)!);
      assert.ok(chosen.every((s) => s.isOnline));
      const zonesAvailable = new Set(online.map((s) => s.zone)).size;
      assert.equal(new Set(chosen.map((s) => s.zone)).size, Math.min(3, zonesAvailable));
      return true;
    }),
    { numRuns: 300, seed: 42 },
  );
});
