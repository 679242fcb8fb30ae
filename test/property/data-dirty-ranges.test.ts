/** Dirty-range coalescing against a byte-array model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkDirty } from '../../client/data/dirty-ranges.js';
import { ReadAheadPolicy } from '../../client/data/read-ahead-policy.js';

test('dirty ranges hold exactly the written bytes, merged, and charge only new bytes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(500), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 255 })), { maxLength: 40 }), fc.option(fc.nat(600)), (writes, truncateTo) => {
      const cd = new ChunkDirty(64);
      const model = new Int16Array(600).fill(-1);
      let charged = 0;
      let grant = true;
      // The budget grants spare capacity every other time it is asked.
      const reserve = (bytes: number): boolean => {
        grant = !grant;
        if (grant) charged += bytes;
        return grant;
      };
      for (const [off, len, fill] of writes) {
        const data = Buffer.alloc(len, fill);
        const fresh = cd.write(off, data, 0, reserve);
        charged += fresh;
        for (let i = off; i < off + len; i++) model[i] = fill;
      }
      if (truncateTo !== null) {
        charged -= cd.truncate(truncateTo);
        for (let i = truncateTo; i < model.length; i++) model[i] = -1;
      }
      assert.equal(charged, cd.chargedBytes);
      assert.equal(model.filter((v) => v >= 0).length, cd.bytes);
      for (let i = 1; i < cd.ranges.length; i++) assert.ok(cd.ranges[i - 1]!.end < cd.ranges[i]!.start, 'ranges neither overlap nor touch');
      for (const r of cd.ranges) {
        r.checkInvariants();
        const bytes = r.bytes(r.start, r.end, true);
        for (let i = r.start; i < r.end; i++) assert.equal(bytes[i - r.start], model[i]);
        // A view and a copy hold the same bytes.
        assert.ok(r.bytes().equals(bytes));
        if (r.start > 0) assert.equal(model[r.start - 1], -1);
        if (r.end < model.length) assert.equal(model[r.end], -1);
      }
    }),
    { numRuns: 500 },
  );
});

test('a sequential writer builds one range, one part per block when memory allows', () => {
  const cd = new ChunkDirty(1000);
  for (let i = 0; i < 100; i++) cd.write(i * 10, Buffer.alloc(i === 0 ? 20 : 10, i), 0, () => true);
  assert.equal(cd.ranges.length, 1);
  assert.equal(cd.ranges[0]!.length, 1000);
  assert.equal(cd.ranges[0]!.parts.length, 1);
  assert.equal(cd.chargedBytes, 1000);
  const small = new ChunkDirty(1000);
  small.write(0, Buffer.alloc(10), 0, () => true);
  assert.equal(small.chargedBytes, 10, 'a small write at a block start gets no spare');
  const tight = new ChunkDirty(1000);
  for (let i = 0; i < 100; i++) tight.write(i * 10, Buffer.alloc(10, i), 0, () => false);
  assert.equal(tight.ranges[0]!.parts.length, 100);
  assert.equal(tight.chargedBytes, 1000);
});

test('read-ahead grows on sequential reads and resets on a random one', () => {
  const p = new ReadAheadPolicy(100, 800);
  let d = p.onRead(0, 50, 10_000);
  assert.ok(d.isSequential);
  assert.deepEqual([d.prefetchOffset, d.prefetchLength], [50, 100]);
  d = p.onRead(50, 50, 10_000);
  assert.equal(p.currentWindowBytes, 200);
  assert.deepEqual([d.prefetchOffset, d.prefetchLength], [150, 150]);
  for (let i = 2; i < 10; i++) p.onRead(i * 50, 50, 10_000);
  assert.equal(p.currentWindowBytes, 800);
  d = p.onRead(5000, 10, 10_000);
  assert.equal(d.isSequential, false);
  assert.equal(d.prefetchLength, 0);
  assert.equal(p.currentWindowBytes, 0);
});

test('read-ahead keeps a stream sequential when the kernel delivers its requests out of order', () => {
  const MiB = 1 << 20;
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  const fileLength = 256 * MiB;
  let prefetchedTo = 0;
  // The order seen from a mount with 1 MiB requests: neighbours swapped, a few ahead.
  const order = [0, 1, 2, 3, 5, 4, 6, 7, 8, 9, 11, 10, 13, 12, 14, 15, 16, 18, 17, 19];
  for (const i of order) {
    const d = p.onRead(i * MiB, MiB, fileLength);
    assert.ok(d.isSequential, `read at ${i} MiB counts as sequential`);
    if (d.prefetchLength > 0) {
      assert.ok(d.prefetchOffset >= prefetchedTo, 'no range is asked for twice');
      prefetchedTo = d.prefetchOffset + d.prefetchLength;
    }
  }
  assert.equal(p.currentWindowBytes, 32 * MiB);
  assert.ok(prefetchedTo >= 20 * MiB + 16 * MiB, 'read-ahead runs well past the reader');
  // A jump far away is random; the stream then starts over.
  const far = p.onRead(200 * MiB, MiB, fileLength);
  assert.equal(far.isSequential, false);
  assert.equal(p.currentWindowBytes, 0);
  // Property: any permutation of a stream's requests within a small distance stays sequential.
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 10, maxLength: 60 }), (jitter) => {
      const q = new ReadAheadPolicy(4 * MiB, 32 * MiB);
      const idx = jitter.map((j, i) => i + j);
      idx[0] = 0;
      return idx.every((i) => q.onRead(i * MiB, MiB, fileLength).isSequential);
    }),
    { numRuns: 200 },
  );
});
