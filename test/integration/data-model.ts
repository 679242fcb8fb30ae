/**
 * Model-based random test of the data path: long random sequences of write,
 * read, truncate, fsync, reopen (same client) and open from a second client
 * at random offsets and sizes across block and chunk boundaries (sparse files
 * included), checked against an in-memory reference file. Run on every
 * backend by the *.test.ts files next to this one.
 */
import assert from 'node:assert/strict';
import { SeededRandom, type Random } from '../../src/common/random.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { objectPiecesOf } from '../../src/layout/geometry.js';
import { objectKey } from '../../src/layout/object-key.js';
import { DataClient } from '../../client/data/data-client.js';
import type { DataClientOptions } from '../../client/data/data-options.js';
import type { FileHandle } from '../../client/data/file-handle.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';

export const SMALL_GEOMETRY = { chunkSizeBytes: 256 << 10, blockSizeBytes: 64 << 10 };

/** The reference: a growable byte array with POSIX write/truncate semantics. */
export class ReferenceFile {
  bytes = Buffer.alloc(0);
  write(offset: number, data: Buffer): void {
    if (offset + data.length > this.bytes.length) this.truncate(offset + data.length);
    data.copy(this.bytes, offset);
  }
  truncate(length: number): void {
    if (length <= this.bytes.length) this.bytes = Buffer.from(this.bytes.subarray(0, length));
    else this.bytes = Buffer.concat([this.bytes, Buffer.alloc(length - this.bytes.length)]);
  }
  read(offset: number, length: number): Buffer {
    return this.bytes.subarray(Math.min(offset, this.bytes.length), Math.min(offset + length, this.bytes.length));
  }
}

function randomBytes(rng: Random, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const seed = rng.int(256);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 13 + (i >> 8)) & 0xff;
  return b;
}

/** Offsets cluster near block and chunk boundaries, where the bugs live. */
function randomOffset(rng: Random, maxBytes: number): number {
  const g = SMALL_GEOMETRY;
  if (rng.chance(0.4)) {
    const unit = rng.chance(0.5) ? g.blockSizeBytes : g.chunkSizeBytes;
    const k = rng.int(Math.floor(maxBytes / unit) + 1);
    return Math.max(0, Math.min(maxBytes, k * unit + rng.int(65) - 32));
  }
  return rng.int(maxBytes);
}

function randomLength(rng: Random): number {
  const r = rng.next();
  if (r < 0.5) return 1 + rng.int(4096);
  if (r < 0.85) return 1 + rng.int(80 << 10);
  return 1 + rng.int(400 << 10);
}

export interface ModelRunOptions {
  readonly seed: number;
  readonly ops: number;
  readonly store: ObjectStore;
  readonly client?: Partial<DataClientOptions>;
}

export async function runDataModel(o: ModelRunOptions): Promise<{ ops: Record<string, number> }> {
  const rng = new SeededRandom(o.seed);
  const meta = new ReferenceChunkInfoStore();
  // Invariant checked on every commit: metadata never names an object that
  // has not been PUT (data durable before metadata points at it).
  const putKeys = new Set<string>();
  const violations: string[] = [];
  const store: ObjectStore = Object.assign(Object.create(o.store) as ObjectStore, {
    put: async (key: string, data: Uint8Array) => {
      await o.store.put(key, data);
      putKeys.add(key);
    },
    get: o.store.get.bind(o.store),
    head: o.store.head.bind(o.store),
  });
  const append = meta.appendChunkInfos.bind(meta);
  meta.appendChunkInfos = async (inodeId, records, newLength) => {
    for (const r of records) {
      if (r.info.zero) continue;
      for (const p of objectPiecesOf(SMALL_GEOMETRY, r.info)) {
        const key = objectKey(`m${o.seed}`, { fsId: 1, inodeId, chunkId: r.info.chunkId, blockIndex: p.blockIndex, compaction: 0 });
        if (!putKeys.has(key)) violations.push(key);
      }
    }
    await append(inodeId, records, newLength);
  };
  const ids = new ReferenceChunkIdAllocator();
  const base: DataClientOptions = {
    fsId: 1,
    geometry: SMALL_GEOMETRY,
    store,
    chunkInfos: meta,
    chunkIds: ids,
    keyPrefix: `m${o.seed}`,
    memoryLimitBytes: 1 << 20,
    blockCacheBytes: 512 << 10,
    flushIntervalMs: 30,
    uploadTimeoutMs: 20_000,
    writeWaitTimeoutMs: 20_000,
    ...o.client,
  };
  const inodeId = 100 + (o.seed % 1000);
  const maxBytes = 3 * SMALL_GEOMETRY.chunkSizeBytes + 5000;
  const model = new ReferenceFile();
  let client = await DataClient.start(base);
  let handle: FileHandle = client.open(inodeId, 0);
  const counts: Record<string, number> = {};
  const check = async (h: FileHandle, what: string): Promise<void> => {
    const got = await h.read(0, model.bytes.length + 100);
    assert.equal(got.length, model.bytes.length, `${what}: length (seed ${o.seed})`);
    assert.ok(got.equals(model.bytes), `${what}: content differs (seed ${o.seed})`);
  };
  try {
    for (let i = 0; i < o.ops; i++) {
      const r = rng.next();
      const op = r < 0.45 ? 'write' : r < 0.7 ? 'read' : r < 0.78 ? 'truncate' : r < 0.86 ? 'fsync' : r < 0.93 ? 'reopen' : r < 0.97 ? 'seqread' : 'other-client';
      counts[op] = (counts[op] ?? 0) + 1;
      const where = `op ${i} ${op} (seed ${o.seed})`;
      if (op === 'write') {
        const offset = randomOffset(rng, maxBytes);
        const data = randomBytes(rng, randomLength(rng));
        await handle.write(offset, data);
        model.write(offset, data);
      } else if (op === 'read') {
        const offset = randomOffset(rng, model.bytes.length + 1000);
        const length = randomLength(rng);
        const got = await handle.read(offset, length);
        assert.ok(got.equals(model.read(offset, length)), `${where}: read [${offset}, +${length}) differs`);
      } else if (op === 'seqread') {
        const step = 1 + rng.int(70 << 10);
        for (let off = 0; off < model.bytes.length; off += step) {
          const got = await handle.read(off, step);
          assert.ok(got.equals(model.read(off, step)), `${where}: sequential read at ${off} differs`);
        }
      } else if (op === 'truncate') {
        const length = rng.chance(0.5) ? rng.int(model.bytes.length + 1) : randomOffset(rng, maxBytes);
        await handle.truncate(length);
        model.truncate(length);
      } else if (op === 'fsync') {
        await handle.fsync();
      } else if (op === 'reopen') {
        await handle.close();
        if (rng.chance(0.3)) {
          // A whole new client process: only what was committed is visible.
          await client.close();
          client = await DataClient.start(base);
        }
        handle = client.open(inodeId, meta.lengthOf(inodeId));
        assert.equal(handle.lengthBytes, model.bytes.length, `${where}: length after reopen`);
      } else {
        // Close-to-open across clients: after close (and, with a write-back
        // cache, once the background upload committed) another client sees it all.
        await handle.close();
        await client.drain();
        const other = await DataClient.start({ ...base, diskCache: undefined });
        const h2 = other.open(inodeId, meta.lengthOf(inodeId));
        await check(h2, where);
        await h2.close();
        await other.close();
        handle = client.open(inodeId, meta.lengthOf(inodeId));
      }
      assert.equal(handle.lengthBytes, model.bytes.length, `${where}: length`);
      assert.ok(client.bufferedBytes <= (base.memoryLimitBytes ?? 0), `${where}: memory ceiling`);
      assert.deepEqual(violations, [], `${where}: chunk info appended before its objects were PUT`);
    }
    await check(handle, `final (seed ${o.seed})`);
    await handle.close();
  } finally {
    await client.close();
  }
  return { ops: counts };
}
