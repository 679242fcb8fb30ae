/**
 * Demand fetches in parts (object-fetcher.ts): a reader that waits for a
 * whole object gets it as parallel ranged GETs and is answered once the
 * parts under its range are in; the object is cached once all parts are;
 * a short or failing part fails only the readers that need it and the
 * block goes back to the pool; read-ahead stays one GET per object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { CorruptionError } from '../../src/common/errors.js';
import type { ByteRange, ListPage, ObjectInfo, ObjectStore } from '../../src/object/object-store.js';
import { BlockPool } from '../../client/data/block-pool.js';
import { dataPathMetrics } from '../../client/data/data-metrics.js';
import { ObjectFetcher } from '../../client/data/object-fetcher.js';

const PART = 1024;
const OBJECT = 4 * PART;

/** A store whose GETs wait until the test lets each one go (by its range's offset, -1 for whole). */
class GatedStore implements ObjectStore {
  readonly description = 'gated';
  readonly calls: Array<ByteRange | undefined> = [];
  private readonly gates = new Map<number, () => void>();
  private readonly waiting = new Map<number, Promise<void>>();
  /** Offsets whose reply is cut short. */
  readonly short = new Set<number>();
  /** Offsets whose GET fails. */
  readonly failing = new Set<number>();
  constructor(private readonly data: Buffer) {}

  gateOf(at: number): Promise<void> {
    let p = this.waiting.get(at);
    if (p === undefined) {
      p = new Promise<void>((resolve) => this.gates.set(at, resolve));
      this.waiting.set(at, p);
    }
    return p;
  }
  open(at: number): void {
    void this.gateOf(at);
    this.gates.get(at)!();
  }
  async get(_key: string, range?: ByteRange, alloc?: (n: number) => Buffer): Promise<Buffer> {
    this.calls.push(range);
    const at = range === undefined ? -1 : range.offset;
    await this.gateOf(at);
    if (this.failing.has(at)) throw new Error(`GET at ${at} failed`);
    if (range === undefined) {
      const out = alloc === undefined ? Buffer.allocUnsafe(this.data.length) : alloc(this.data.length);
      this.data.copy(out);
      return out;
    }
    const end = this.short.has(at) ? range.offset + range.length / 2 : range.offset + range.length;
    return Buffer.from(this.data.subarray(range.offset, end));
  }
  async put(): Promise<void> {}
  async head(key: string): Promise<ObjectInfo> {
    return { key, sizeBytes: this.data.length };
  }
  async delete(): Promise<void> {}
  async deleteMany(): Promise<void> {}
  async list(): Promise<ListPage> {
    return { objects: [], cursor: null };
  }
  async close(): Promise<void> {}
}

const data = Buffer.from(Array.from({ length: OBJECT }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function fetcherOf(store: ObjectStore, pool = new BlockPool(OBJECT, 4)): ObjectFetcher {
  return new ObjectFetcher(store, 1 << 20, 8, null, null, dataPathMetrics(new Registry()), undefined, pool, PART);
}

test('a demand read of a whole object is answered when its own part is in, and the object is cached once all are', async () => {
  const store = new GatedStore(data);
  const pool = new BlockPool(OBJECT, 4);
  const fetcher = fetcherOf(store, pool);
  const first = fetcher.read('k', 100, 200, true, OBJECT);
  // A second reader of a later part joins the same fetch.
  const later = fetcher.read('k', 2 * PART + 10, 100, true, OBJECT);
  await nextMacrotask();
  assert.deepEqual(
    store.calls.map((r) => r?.offset),
    [0, PART, 2 * PART, 3 * PART],
    'four ranged GETs at once',
  );
  store.open(0);
  assert.deepEqual(await first, data.subarray(100, 300), 'answered with only the first part in');
  store.open(2 * PART);
  assert.deepEqual(await later, data.subarray(2 * PART + 10, 2 * PART + 110));
  store.open(PART);
  store.open(3 * PART);
  await nextMacrotask();
  // Now cached: no more GETs, and the cached copy is the whole object.
  assert.deepEqual(await fetcher.read('k', 0, OBJECT, true, OBJECT), data);
  assert.equal(store.calls.length, 4);
  assert.equal(pool.stats.taken, 1, 'the parts landed in one pooled block');
});

test('read-ahead fetches stay one GET per object', async () => {
  const store = new GatedStore(data);
  const fetcher = fetcherOf(store);
  fetcher.prefetch('k');
  await nextMacrotask();
  assert.deepEqual(store.calls, [undefined]);
  // A reader arriving meanwhile joins the whole GET.
  const reading = fetcher.read('k', 10, 10, true, OBJECT);
  store.open(-1);
  assert.deepEqual(await reading, data.subarray(10, 20));
  assert.equal(store.calls.length, 1);
});

test('objects smaller than two parts, or of unknown length, are one GET', async () => {
  const small = data.subarray(0, PART + 1);
  const store = new GatedStore(small);
  const fetcher = fetcherOf(store);
  store.open(-1);
  assert.deepEqual(await fetcher.read('s', 0, small.length, true, small.length), small);
  assert.deepEqual(await fetcher.read('u', 0, 10, true), small.subarray(0, 10));
  assert.deepEqual(store.calls, [undefined, undefined]);
});

test('a failing part fails only its readers; the block is not cached and goes back to the pool', async () => {
  const store = new GatedStore(data);
  const pool = new BlockPool(OBJECT, 4);
  const fetcher = fetcherOf(store, pool);
  store.failing.add(PART);
  const ok = fetcher.read('k', 0, 100, true, OBJECT);
  const bad = fetcher.read('k', PART, 100, true, OBJECT);
  for (const at of [0, PART, 2 * PART, 3 * PART]) store.open(at);
  assert.deepEqual(await ok, data.subarray(0, 100));
  await assert.rejects(bad, /GET at 1024 failed/);
  await nextMacrotask();
  assert.equal(fetcher.cachedBytes, 0, 'nothing cached');
  assert.equal(pool.freeCount, 1, 'the block went back to the pool');
  // The next read fetches afresh (and succeeds once the store does).
  store.failing.clear();
  assert.deepEqual(await fetcher.read('k', PART, 100, true, OBJECT), data.subarray(PART, PART + 100));
});

test('a part that stays short ends in CorruptionError after bounded attempts', async () => {
  const store = new GatedStore(data);
  const fetcher = fetcherOf(store);
  store.short.add(3 * PART);
  for (const at of [0, PART, 2 * PART, 3 * PART]) store.open(at);
  await assert.rejects(fetcher.read('k', 3 * PART, 100, true, OBJECT), CorruptionError);
  const attempts = store.calls.filter((r) => r?.offset === 3 * PART).length;
  assert.ok(attempts >= 2 && attempts <= 4, `bounded attempts (${attempts})`);
});
