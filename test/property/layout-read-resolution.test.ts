/**
 * Read resolution against a naive byte-array model: random writes (across
 * block and chunk boundaries, sparse), truncates that shrink and extend,
 * then reads of random ranges must match the model byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  objectKey,
  objectPiecesOf,
  parseObjectKey,
  resolveRead,
  splitByChunk,
  trimChunkInfos,
  zeroRecordsForExtend,
  type ChunkInfo,
  type LayoutGeometry,
} from '../../src/layout/index.js';

const G: LayoutGeometry = { chunkSizeBytes: 64, blockSizeBytes: 16 };
const FILE_MAX = 300;

type Op =
  | { kind: 'write'; offset: number; length: number; fill: number }
  | { kind: 'truncate'; length: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: fc.nat(FILE_MAX), length: fc.integer({ min: 1, max: 90 }), fill: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(FILE_MAX) }) },
);

class LayoutFile {
  readonly chunks = new Map<number, ChunkInfo[]>();
  readonly objects = new Map<string, Buffer>();
  length = 0;
  private nextChunkId = 1;
  constructor(private readonly shuffle: (xs: ChunkInfo[]) => ChunkInfo[]) {}

  write(offset: number, data: Buffer): void {
    for (const r of splitByChunk(G, offset, data.length)) {
      const info: ChunkInfo = { chunkId: this.nextChunkId++, compaction: 0, offset: r.offset, length: r.length, zero: false };
      for (const p of objectPiecesOf(G, info)) {
        const key = objectKey('d', { fsId: 1, inodeId: 7, chunkId: info.chunkId, blockIndex: p.blockIndex, compaction: 0 });
        this.objects.set(key, data.subarray(p.fileOffset - offset, p.fileOffset - offset + p.length));
      }
      this.append(r.chunkIndex, info);
    }
    this.length = Math.max(this.length, offset + data.length);
  }

  truncate(newLength: number): void {
    if (newLength < this.length) {
      for (const [idx, recs] of this.chunks) this.chunks.set(idx, trimChunkInfos(recs, newLength));
    } else if (newLength > this.length) {
      for (const a of zeroRecordsForExtend(G, this.length, newLength, this.nextChunkId++)) this.append(a.chunkIndex, a.info);
    }
    this.length = newLength;
  }

  private append(chunkIndex: number, info: ChunkInfo): void {
    const list = this.chunks.get(chunkIndex) ?? [];
    list.push(info);
    this.chunks.set(chunkIndex, list);
  }

  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    const segs = resolveRead(G, (i) => this.shuffle(this.chunks.get(i) ?? []), offset, length);
    for (const s of segs) {
      if (s.kind === 'zero') continue;
      const key = objectKey('d', { fsId: 1, inodeId: 7, chunkId: s.chunkId, blockIndex: s.blockIndex, compaction: s.compaction });
      const obj = this.objects.get(key);
      assert.ok(obj, `missing object ${key}`);
      assert.ok(obj.length >= s.objectLength && s.objectOffset + s.length <= s.objectLength);
      obj.copy(out, s.fileOffset - offset, s.objectOffset, s.objectOffset + s.length);
    }
    return out;
  }
}

test('read resolution matches a byte-array model', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.tuple(fc.nat(FILE_MAX), fc.nat(120)), { maxLength: 8 }), fc.infiniteStream(fc.nat()), (ops, reads, rand) => {
      // Records arrive in any order: resolution must depend on chunk ids only.
      const it = rand[Symbol.iterator]();
      const shuffle = (xs: ChunkInfo[]): ChunkInfo[] => [...xs].sort(() => ((it.next().value as number) % 3) - 1);
      const file = new LayoutFile(shuffle);
      let model = Buffer.alloc(0);
      for (const op of ops) {
        if (op.kind === 'write') {
          const data = Buffer.alloc(op.length, op.fill);
          for (let i = 0; i < data.length; i++) data[i] = (op.fill + i) & 0xff;
          file.write(op.offset, data);
          if (model.length < op.offset + op.length) model = Buffer.concat([model, Buffer.alloc(op.offset + op.length - model.length)]);
          data.copy(model, op.offset);
        } else {
          file.truncate(op.length);
          model = op.length <= model.length ? Buffer.from(model.subarray(0, op.length)) : Buffer.concat([model, Buffer.alloc(op.length - model.length)]);
        }
      }
      assert.equal(file.length, model.length);
      assert.deepEqual(file.read(0, file.length), model);
      for (const [off, len] of reads) {
        const start = Math.min(off, file.length);
        const n = Math.min(len, file.length - start);
        assert.deepEqual(file.read(start, n), model.subarray(start, start + n));
      }
    }),
    { numRuns: 300 },
  );
});

test('object keys round-trip and stay short', () => {
  fc.assert(
    fc.property(fc.nat(1 << 20), fc.nat(Number.MAX_SAFE_INTEGER), fc.nat(1 << 30), fc.nat(1 << 10), fc.nat(100), (fsId, inodeId, chunkId, blockIndex, compaction) => {
      const key = objectKey('data', { fsId, inodeId, chunkId, blockIndex, compaction });
      assert.deepEqual(parseObjectKey(key), { prefix: 'data', fsId, inodeId, chunkId, blockIndex, compaction });
      assert.ok(key.length < 80);
    }),
  );
  assert.equal(parseObjectKey('data/zz/1/2/3_4_5'), null);
});

test('objects of a record tile it inside blocks', () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 64 }), (offset, len) => {
      const chunkEnd = (Math.floor(offset / G.chunkSizeBytes) + 1) * G.chunkSizeBytes;
      const length = Math.min(len, chunkEnd - offset);
      const pieces = objectPiecesOf(G, { chunkId: 1, compaction: 0, offset, length, zero: false });
      let pos = offset;
      for (const p of pieces) {
        assert.equal(p.fileOffset, pos);
        assert.ok(p.length > 0 && p.length <= G.blockSizeBytes);
        assert.equal(Math.floor(p.fileOffset / G.blockSizeBytes), Math.floor((p.fileOffset + p.length - 1) / G.blockSizeBytes));
        pos += p.length;
      }
      assert.equal(pos, offset + length);
    }),
  );
});
