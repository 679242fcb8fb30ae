/** SnapshotStore on real files: save/read, retention, resumable receive, corruption. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotStore } from '../../src/raft/snapshot/snapshot-store.js';
import type { SnapshotMeta } from '../../src/raft/core/types.js';
import { CurveError } from '../../src/common/errors.js';

const conf = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: ['d'] };
const meta = (index: number, term = 1): SnapshotMeta => ({ index, term, confState: conf });

async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, Math.min(data.length, at + size));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snap-unit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('save then read returns the same bytes and meta, also after reopen', () =>
  withDir(async (dir) => {
    const store = await SnapshotStore.open(dir, { chunkBytes: 1000 });
    const data = payload(10_000, 1);
    const info = await store.save(meta(42, 3), chunksOf(data, 777));
    assert.equal(info.dataBytes, data.length);
    assert.deepEqual(await collect(store.read(info)), data);
    const again = await SnapshotStore.open(dir);
    const latest = again.latest();
    assert.ok(latest);
    assert.deepEqual(latest.meta, meta(42, 3));
    assert.deepEqual(await collect(again.read(latest)), data);
  }));

test('keeps only the latest N snapshots and removes crashed temp files', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'save-1-0.tmp'), 'half');
    const store = await SnapshotStore.open(dir, { retain: 2 });
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
    for (const index of [10, 20, 30]) await store.save(meta(index), chunksOf(payload(100, index), 50));
    assert.deepEqual(store.list().map((s) => s.meta.index), [30, 20]);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.snap')).length, 2);
  }));

test('an interrupted receive resumes from the bytes already written', () =>
  withDir(async (dir) => {
    const store = await SnapshotStore.open(dir);
    const data = payload(5000, 7);
    const first = await store.receive(meta(100, 4));
    await first.write(0, data.subarray(0, 1500));
    await first.write(1000, data.subarray(1000, 2100)); // overlapping retry
    await first.pause();
    const reopened = await SnapshotStore.open(dir);
    const second = await reopened.receive(meta(100, 4));
    assert.equal(second.receivedBytes(), 2100);
    await assert.rejects(second.write(3000, data.subarray(3000)), /gap/);
    await second.write(2100, data.subarray(2100));
    const info = await second.finish(data.length);
    assert.deepEqual(await collect(reopened.read(info)), data);
    assert.equal(reopened.latest()?.meta.index, 100);
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.part')), []);
  }));

test('flipped data bytes are detected when reading', () =>
  withDir(async (dir) => {
    const store = await SnapshotStore.open(dir);
    const info = await store.save(meta(5), chunksOf(payload(4000, 3), 1000));
    const bytes = await readFile(info.path);
    bytes[500] = bytes[500]! ^ 0x10;
    await writeFile(info.path, bytes);
    await assert.rejects(collect(store.read(info)), (e: unknown) => CurveError.is(e) && e.code === 'CURVEFS_ERR_CORRUPT');
  }));
