/**
 * The compaction plan against a byte-array model: for random lists of
 * overlapping writes (and zero records, and a file length that cuts some
 * off), the planned objects, read back through the same read resolution a
 * client uses, give exactly the bytes the original list gives; the new
 * list is shorter; no new object name equals a referenced old one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { objectPiecesOf, type LayoutGeometry } from '../../src/layout/geometry.js';
import { resolveChunkRead } from '../../src/layout/read-resolution.js';
import {
  assessChunk,
  DEFAULT_THRESHOLDS,
  objectsOfRecords,
  planChunkCompaction,
} from '../../metaserver/compaction/compaction-plan.js';

const g: LayoutGeometry = { chunkSizeBytes: 4096, blockSizeBytes: 1024 };

/** Object contents: a record's byte at file offset x is a function of (chunkId, compaction, x). */
const byteOf = (chunkId: number, compaction: number, x: number): number => (chunkId * 31 + compaction * 7 + x) & 0xff;

type Objects = Map<string, Uint8Array>;

function storeRecord(objects: Objects, chunkIndex: number, r: ChunkInfo): void {
  if (r.zero) return;
  for (const p of objectPiecesOf(g, r)) {
    const bytes = new Uint8Array(p.length);
    for (let i = 0; i < p.length; i++) bytes[i] = byteOf(r.chunkId, r.compaction, p.fileOffset + i);
    objects.set(`${chunkIndex}/${r.chunkId}_${p.blockIndex}_${r.compaction}`, bytes);
  }
}

function read(objects: Objects, chunkIndex: number, records: readonly ChunkInfo[], length: number): Uint8Array {
  const start = chunkIndex * g.chunkSizeBytes;
  const end = Math.max(start, Math.min(start + g.chunkSizeBytes, length));
  const out = new Uint8Array(end - start);
  for (const s of resolveChunkRead(g, chunkIndex, records, start, end - start)) {
    if (s.kind === 'zero') continue;
    const obj = objects.get(`${chunkIndex}/${s.chunkId}_${s.blockIndex}_${s.compaction}`);
    assert.ok(obj !== undefined, 'read finds its object');
    out.set(obj.subarray(s.objectOffset, s.objectOffset + s.length), s.fileOffset - start);
  }
  return out;
}

const recordArb = (chunkIndex: number) =>
  fc
    .record({ start: fc.integer({ min: 0, max: 4095 }), len: fc.integer({ min: 1, max: 1500 }), zero: fc.boolean() })
    .map(({ start, len, zero }) => ({ offset: chunkIndex * 4096 + start, length: Math.min(len, 4096 - start), zero: zero && len % 5 === 0 }));

test('a compacted chunk reads the same bytes with fewer records and fresh object names', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 }).chain((chunkIndex) =>
        fc.tuple(fc.constant(chunkIndex), fc.array(recordArb(chunkIndex), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 * 4096 + 100 })),
      ),
      fc.integer({ min: 0, max: 2048 }),
      ([chunkIndex, raw, length], mergeGap) => {
        const records: ChunkInfo[] = raw.map((r, i) => ({ chunkId: 100 + i, compaction: 0, ...r }));
        const objects: Objects = new Map();
        for (const r of records) storeRecord(objects, chunkIndex, r);
        const before = read(objects, chunkIndex, records, length);
        const plan = planChunkCompaction(g, chunkIndex, records, length, mergeGap);
        if (plan === null) return;
        assert.ok(plan.replacement.length < records.length || records.some((r) => r.offset + r.length > length));
        const old = new Set(objectsOfRecords(g, records).map((o) => `${o.chunkId}_${o.blockIndex}_${o.compaction}`));
        const fresh = new Set<string>();
        for (const w of plan.writes) {
          const name = `${w.chunkId}_${w.blockIndex}_${w.compaction}`;
          assert.ok(!fresh.has(name), 'two new objects never share a name');
          fresh.add(name);
          assert.ok(!old.has(`${w.chunkId}_${w.blockIndex}_${w.compaction}`), 'a new object never reuses a referenced name');
          const bytes = new Uint8Array(w.length);
          let at = 0;
          for (const s of w.sources) {
            if (s.kind === 'object') {
              const src = objects.get(`${chunkIndex}/${s.chunkId}_${s.blockIndex}_${s.compaction}`)!;
              bytes.set(src.subarray(s.objectOffset, s.objectOffset + s.length), at);
            }
            at += s.length;
          }
          assert.equal(at, w.length);
          objects.set(`${chunkIndex}/${w.chunkId}_${w.blockIndex}_${w.compaction}`, bytes);
        }
        // The superseded objects go: the new list must not need them.
        for (const o of plan.superseded) objects.delete(`${chunkIndex}/${o.chunkId}_${o.blockIndex}_${o.compaction}`);
        assert.deepEqual(read(objects, chunkIndex, plan.replacement, length), before);
        for (const r of plan.replacement) assert.ok(r.offset + r.length <= length, 'nothing past the end survives');
      },
    ),
    { numRuns: 400, seed: 8 },
  );
});

test('assessment: record count, overlap and past-EOF thresholds', () => {
  const many: ChunkInfo[] = Array.from({ length: 25 }, (_, i) => ({ chunkId: i + 1, compaction: 0, offset: i * 100, length: 100, zero: false }));
  assert.equal(assessChunk(g, 0, many, 4096, DEFAULT_THRESHOLDS).reason, 'records');
  const overlapping: ChunkInfo[] = Array.from({ length: 5 }, (_, i) => ({ chunkId: i + 1, compaction: 0, offset: 0, length: 1000, zero: false }));
  const a = assessChunk(g, 0, overlapping, 4096, DEFAULT_THRESHOLDS);
  assert.equal(a.reason, 'overlap');
  assert.equal(a.liveBytes, 1000);
  assert.equal(a.claimedBytes, 5000);
  const pastEof: ChunkInfo[] = [{ chunkId: 1, compaction: 0, offset: 0, length: 1000, zero: false }];
  assert.equal(assessChunk(g, 0, pastEof, 500, DEFAULT_THRESHOLDS).reason, 'past-eof');
  assert.equal(assessChunk(g, 0, pastEof, 1000, DEFAULT_THRESHOLDS).reason, null);
  // The plan for a list entirely past the end empties the chunk.
  const plan = planChunkCompaction(g, 1, [{ chunkId: 3, compaction: 0, offset: 4096, length: 10, zero: false }], 100, 0);
  assert.ok(plan !== null);
  assert.deepEqual(plan.replacement, []);
  assert.equal(plan.superseded.length, 1);
});

test('merged records take the newest data chunk id with a compaction above it', () => {
  const records: ChunkInfo[] = [
    { chunkId: 5, compaction: 2, offset: 0, length: 100, zero: false },
    { chunkId: 9, compaction: 0, offset: 50, length: 100, zero: false },
    { chunkId: 12, compaction: 0, offset: 0, length: 10, zero: true },
  ];
  const plan = planChunkCompaction(g, 0, records, 4096, 0);
  assert.ok(plan !== null);
  assert.deepEqual(plan.replacement, [{ chunkId: 9, compaction: 1, offset: 10, length: 140, zero: false }]);
});
