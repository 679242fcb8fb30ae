/** WAL behaviour on real files: reopen, overwrite, group commit, segments, compaction, corruption. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wal } from '../../src/raft/wal/wal.js';
import { EntryType, CompactedError } from '../../src/raft/core/types.js';
import type { Entry } from '../../src/raft/core/types.js';
import { CurveError } from '../../src/common/errors.js';
import { scanRecords } from '../../src/raft/wal/record-codec.js';

function entry(index: number, term: number, size = 16): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(size).fill(index & 0xff) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wal-unit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('entries and hard state survive reopen; the last hard state wins', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir);
    assert.equal(wal.firstIndex(), 1);
    assert.equal(wal.lastIndex(), 0);
    await wal.append([entry(1, 1), entry(2, 1)], { term: 1, vote: 'a', commit: 1 });
    await wal.append([entry(3, 2)], { term: 2, vote: 'b', commit: 2 });
    await wal.close();
    const again = await Wal.open(dir);
    assert.equal(again.lastIndex(), 3);
    assert.equal(again.term(3), 2);
    assert.deepEqual(again.hardState(), { term: 2, vote: 'b', commit: 2 });
    assert.deepEqual(again.entries(1, 4, Infinity).map((e) => e.index), [1, 2, 3]);
    // maxBytes limits the batch but always returns one entry.
    assert.equal(again.entries(1, 4, 1).length, 1);
    await again.close();
  }));

test('a new leader overwriting a conflicting tail truncates the suffix', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir);
    await wal.append([entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)]);
    await wal.append([entry(3, 2)]);
    assert.equal(wal.lastIndex(), 3);
    assert.equal(wal.term(3), 2);
    await wal.close();
    const again = await Wal.open(dir);
    assert.equal(again.lastIndex(), 3);
    assert.equal(again.term(3), 2);
    assert.equal(again.term(2), 1);
    await again.close();
  }));

test('group commit: concurrent appends share fsyncs', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir);
    const promises: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) promises.push(wal.append([entry(i, 1, 128)]));
    await Promise.all(promises);
    const { fsyncs, appends } = wal.stats();
    assert.equal(appends, 200);
    assert.ok(fsyncs < 20, `expected batching, got ${fsyncs} fsyncs for 200 appends`);
    assert.equal(wal.lastIndex(), 200);
    await wal.close();
  }));

test('segments roll, compaction deletes whole segments behind the snapshot, reopen recovers', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 300; i++) await wal.append([entry(i, 1, 100)], { term: 1, vote: 'a', commit: i - 1 });
    const before = wal.stats().segments;
    assert.ok(before >= 5, `expected several segments, got ${before}`);
    await wal.saveSnapshot({ index: 250, term: 1, confState: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] } });
    const after = wal.stats().segments;
    assert.ok(after < before, `compaction kept ${after} of ${before} segments`);
    assert.equal(wal.firstIndex(), 251);
    assert.throws(() => wal.term(100), CompactedError);
    assert.equal(wal.term(250), 1);
    await wal.append([entry(301, 2, 100)], { term: 2, vote: 'b', commit: 300 });
    await wal.close();
    const again = await Wal.open(dir, { segmentBytes: 4096 });
    assert.equal(again.firstIndex(), 251);
    assert.equal(again.lastIndex(), 301);
    assert.deepEqual(again.snapshotMeta().confState.voters, ['a', 'b', 'c']);
    assert.deepEqual(again.hardState(), { term: 2, vote: 'b', commit: 300 });
    assert.deepEqual(again.entries(251, 302, Infinity).map((e) => e.index), Array.from({ length: 51 }, (_, k) => 251 + k));
    await again.close();
  }));

test('an installed snapshot that the log does not contain replaces the log', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir);
    await wal.append([entry(1, 1), entry(2, 1)]);
    await wal.saveSnapshot({ index: 10, term: 3, confState: { voters: ['a'], votersOutgoing: [], learners: [] } });
    assert.equal(wal.firstIndex(), 11);
    assert.equal(wal.lastIndex(), 10);
    await wal.append([entry(11, 3)]);
    await wal.close();
    const again = await Wal.open(dir);
    assert.equal(again.firstIndex(), 11);
    assert.equal(again.lastIndex(), 11);
    assert.equal(again.term(10), 3);
    await again.close();
  }));

test('a torn tail is cut and reported; appends continue after it; a zero (preallocated) tail is not', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir);
    await wal.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    await wal.close();
    const [file] = await readdir(dir);
    const path = join(dir, file!);
    // Cut 5 bytes into the last record (the file ends in preallocated zeros).
    const bytes = await readFile(path);
    const used = scanRecords(bytes).validBytes;
    assert.ok((await stat(path)).size > used, 'segment is preallocated');
    await writeFile(path, bytes.subarray(0, used - 5));
    const cuts: string[] = [];
    const again = await Wal.open(dir, { onTailTruncated: (t) => cuts.push(t.reason) });
    assert.equal(cuts.length, 1);
    assert.equal(again.lastIndex(), 2);
    await again.append([entry(3, 2)]);
    await again.close();
    const third = await Wal.open(dir);
    assert.equal(third.term(3), 2);
    await third.close();
  }));

test('corruption inside a sealed (non-last) segment is a hard error naming the file', () =>
  withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 100; i++) await wal.append([entry(i, 1, 100)]);
    await wal.close();
    const files = (await readdir(dir)).sort();
    assert.ok(files.length >= 2);
    const path = join(dir, files[0]!);
    const bytes = await readFile(path);
    bytes[200] = bytes[200]! ^ 0xff;
    await writeFile(path, bytes);
    await assert.rejects(Wal.open(dir, { segmentBytes: 4096 }), (e: unknown) => {
      assert.ok(CurveError.is(e) && e.code === 'CURVEFS_ERR_CORRUPT');
      assert.match((e as Error).message, new RegExp(files[0]!));
      return true;
    });
  }));
