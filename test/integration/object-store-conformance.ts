/**
 * One body of tests for every ObjectStore backend (STYLE "conformance
 * suites"): the S3 backend against a real s3rver and the local directory run
 * exactly the same checks.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isNotFound, type ObjectStore } from '../../src/object/object-store.js';

export interface StoreFixture {
  readonly store: ObjectStore;
  teardown(): Promise<void>;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

async function rejectsNotFound(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => isNotFound(e));
}

export function testObjectStore(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;
    before(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    after(async () => {
      await fixture.teardown();
    });

    it('puts and gets whole objects, empty ones included', async () => {
      const data = bytes(100_000, 1);
      await store.put('t/a/1_0_0', data);
      assert.deepEqual(await store.get('t/a/1_0_0'), data);
      await store.put('t/a/empty', Buffer.alloc(0));
      assert.equal((await store.get('t/a/empty')).length, 0);
      assert.deepEqual(await store.head('t/a/1_0_0'), { key: 't/a/1_0_0', sizeBytes: 100_000 });
    });

    it('gets byte ranges, cut short at the end', async () => {
      const data = bytes(5000, 2);
      await store.put('t/r/obj', data);
      assert.deepEqual(await store.get('t/r/obj', { offset: 0, length: 1 }), data.subarray(0, 1));
      assert.deepEqual(await store.get('t/r/obj', { offset: 1234, length: 2000 }), data.subarray(1234, 3234));
      assert.deepEqual(await store.get('t/r/obj', { offset: 4990, length: 100 }), data.subarray(4990));
      assert.equal((await store.get('t/r/obj', { offset: 5000, length: 10 })).length, 0);
      assert.equal((await store.get('t/r/obj', { offset: 10, length: 0 })).length, 0);
    });

    it('reports a missing key as not found', async () => {
      await rejectsNotFound(store.get('t/missing/x'));
      await rejectsNotFound(store.get('t/missing/x', { offset: 0, length: 10 }));
      await rejectsNotFound(store.head('t/missing/x'));
    });

    it('puts idempotently and deletes idempotently', async () => {
      const data = bytes(300, 3);
      await store.put('t/d/k', data);
      await store.put('t/d/k', data);
      assert.deepEqual(await store.get('t/d/k'), data);
      await store.delete('t/d/k');
      await store.delete('t/d/k');
      await rejectsNotFound(store.get('t/d/k'));
      await store.delete('t/d/never-written');
    });

    it('deletes in batches, missing keys included', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => `t/b/${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((k, i) => store.put(k, bytes(10, i))));
      await store.deleteMany([...keys, 't/b/not-there']);
      for (const k of keys) await rejectsNotFound(store.head(k));
      await store.deleteMany([]);
    });

    it('lists by prefix in key order, page by page with a cursor', async () => {
      const keys = Array.from({ length: 23 }, (_, i) => `t/l/p/${String(i).padStart(3, '0')}_0_0`);
      await Promise.all(keys.map((k, i) => store.put(k, bytes(i + 1, i))));
      await store.put('t/l/q/other', bytes(1, 0));
      await store.put('t/l/p0', bytes(1, 0));
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res = await store.list('t/l/p/', cursor, 10);
        assert.ok(res.objects.length <= 10);
        for (const o of res.objects) {
          seen.push(o.key);
          assert.equal(o.sizeBytes, Number(o.key.slice(6, 9)) + 1);
        }
        cursor = res.cursor;
        if (cursor === null) break;
      }
      assert.equal(cursor, null);
      assert.deepEqual(seen, keys);
      const partial = await store.list('t/l/p', null, 1000);
      assert.deepEqual(partial.objects.map((o) => o.key), [...keys, 't/l/p0']);
      assert.deepEqual((await store.list('t/nothing/', null)).objects, []);
    });

    it('serves many concurrent requests', async () => {
      const keys = Array.from({ length: 64 }, (_, i) => `t/c/${i}`);
      await Promise.all(keys.map((k, i) => store.put(k, bytes(4096 + i, i))));
      const got = await Promise.all(keys.map((k) => store.get(k)));
      got.forEach((g, i) => assert.deepEqual(g, bytes(4096 + i, i)));
    });
  });
}
