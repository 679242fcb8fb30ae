/**
 * A sync's mtime rides on the AppendChunkInfo that commits the last of the
 * writes it covers (one metadata commit for a small file's data and time):
 * the data path reports whether it did, carries it on the last append when
 * there are several, never without data, never with a write-back cache,
 * and forgets it when the sync fails. The chunk-info client puts it on the
 * last op of a split append.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import type { ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { DataClient } from '../../client/data/data-client.js';
import type { DataClientOptions } from '../../client/data/data-options.js';
import { ChunkInfoClient } from '../../client/meta/chunk-info-client.js';
import type { MetaCaller } from '../../client/meta/meta-caller.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';

const G = { chunkSizeBytes: 256 << 10, blockSizeBytes: 64 << 10 };
const T1 = { sec: 1_700_000_001, nsec: 5 };
const T2 = { sec: 1_700_000_002, nsec: 7 };

async function withClient(
  name: string,
  fn: (client: DataClient, meta: ReferenceChunkInfoStore) => Promise<void>,
  options: Partial<DataClientOptions> = {},
): Promise<void> {
  const dir = await makeTempDir(name);
  const meta = new ReferenceChunkInfoStore();
  const client = await DataClient.start({
    fsId: 1,
    geometry: G,
    store: new LocalObjectStore(`${dir.path}/store`),
    chunkInfos: meta,
    chunkIds: new ReferenceChunkIdAllocator(),
    flushIntervalMs: 60_000,
    ...options,
  });
  try {
    await fn(client, meta);
  } finally {
    await client.close(5_000).catch(() => undefined);
    await dir.remove();
  }
}

/** Polls (bounded) until cond holds. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a small write and a flush with an mtime: one append carries data, length and time', async () => {
  await withClient('sm-one', async (client, meta) => {
    const h = client.open(7, 0);
    await h.write(0, Buffer.alloc(16_384, 1));
    assert.equal(await h.flush(T1), true);
    assert.deepEqual(meta.appendLog, [{ inodeId: 7, records: 1, newLength: 16_384, mtime: T1 }]);
    assert.deepEqual(meta.mtimes.get(7), T1);
    // Nothing dirty: no append, so nothing carried; the caller sets the time itself.
    assert.equal(await h.flush(T2), false);
    assert.equal(meta.appendCalls, 1);
    // Without an mtime the append carries none.
    await h.write(100, Buffer.from('abc'));
    assert.equal(await h.fsync(), false);
    assert.equal(meta.appendCalls, 2);
    assert.equal(meta.appendLog[1]!.mtime, undefined);
    assert.deepEqual(meta.mtimes.get(7), T1);
    await h.close();
  });
});

test('a flush committed in two appends: the time goes with the last, never with data still uncommitted', async () => {
  await withClient('sm-two', async (client, meta) => {
    // Hold the first append until the second job is uploaded.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const append = meta.appendChunkInfos.bind(meta);
    let calls = 0;
    meta.appendChunkInfos = async (inodeId: number, records: readonly ChunkInfoAppend[], newLength: number, mtime?: typeof T1) => {
      if (calls++ === 0) await held;
      return append(inodeId, records, newLength, mtime);
    };
    const h = client.open(8, 0);
    // A whole block is cut and flushed at once; its append waits on `held`.
    await h.write(0, Buffer.alloc(G.blockSizeBytes, 2));
    await until('the first append to start', () => calls === 1);
    await h.write(G.blockSizeBytes, Buffer.alloc(100, 3));
    const flushed = h.flush(T1);
    // The tail's upload finishes while the first append is held.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(meta.appendLog.length, 0);
    release();
    assert.equal(await flushed, true);
    assert.deepEqual(
      meta.appendLog.map((a) => ({ records: a.records, newLength: a.newLength, mtime: a.mtime })),
      [
        { records: 1, newLength: G.blockSizeBytes, mtime: undefined },
        { records: 1, newLength: G.blockSizeBytes + 100, mtime: T1 },
      ],
    );
    await h.close();
  });
});

test('concurrent flushes of one inode: the append that completes both carries the later time, and both say so', async () => {
  await withClient('sm-conc', async (client, meta) => {
    const a = client.open(9, 0);
    const b = client.open(9, 0);
    await a.write(0, Buffer.alloc(1000, 4));
    const [ra, rb] = await Promise.all([a.flush(T1), b.flush(T2)]);
    assert.deepEqual([ra, rb], [true, true]);
    assert.equal(meta.appendCalls, 1);
    assert.deepEqual(meta.mtimes.get(9), T2);
    await a.close();
    await b.close();
  });
});

test('a failed flush forgets its time: the retry that later commits the data carries none', async () => {
  await withClient(
    'sm-fail',
    async (client, meta) => {
      const h = client.open(10, 0);
      await h.write(0, Buffer.alloc(500, 5));
      meta.isAvailable = false;
      await assert.rejects(h.flush(T1));
      meta.isAvailable = true;
      assert.equal(await h.flush(), false);
      assert.equal(meta.appendLog.length, 1);
      assert.equal(meta.appendLog[0]!.mtime, undefined);
      assert.equal(meta.mtimes.has(10), false);
      await h.close();
    },
    { uploadTimeoutMs: 200 },
  );
});

test('with a write-back cache the flush returns once staged: the time is left to the caller', async () => {
  const dir = await makeTempDir('sm-wb-cache');
  try {
    await withClient(
      'sm-wb',
      async (client, meta) => {
        const h = client.open(11, 0);
        await h.write(0, Buffer.alloc(2000, 6));
        assert.equal(await h.flush(T1), false);
        await client.drain(5_000);
        assert.ok(meta.appendCalls >= 1);
        assert.ok(meta.appendLog.every((a) => a.mtime === undefined));
        await h.close();
      },
      { diskCache: { dir: dir.path, limitBytes: 4 << 20, writeBack: true } },
    );
  } finally {
    await dir.remove();
  }
});

test('ChunkInfoClient: the mtime goes in the wire fields of the last op of a split append only', async () => {
  const bodies: Array<Record<string, unknown>> = [];
  const caller = {
    router: { forInode: async () => ({}) },
    call: async (_target: unknown, _method: string, body: Record<string, unknown>) => {
      bodies.push(body);
      return { reply: { status: MetaStatusCode.OK } };
    },
  } as unknown as MetaCaller;
  const client = new ChunkInfoClient(caller, { wallClock: new ManualClock(0), newRequestId: () => 'r' });
  const records: ChunkInfoAppend[] = Array.from({ length: 10_001 }, (_, i) => ({
    chunkIndex: i,
    info: { chunkId: i + 1, compaction: 0, offset: i * G.chunkSizeBytes, length: 10, zero: false },
  }));
  await client.appendChunkInfos(12, records, 99, T1);
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0]!.mtime, undefined);
  assert.equal(bodies[0]!.length, 0);
  assert.deepEqual([bodies[1]!.mtime, bodies[1]!.mtimeNs, bodies[1]!.length], [T1.sec, T1.nsec, 99]);
  bodies.length = 0;
  await client.appendChunkInfos(12, records.slice(0, 1), 10);
  assert.equal(bodies.length, 1);
  assert.equal('mtime' in bodies[0]!, false);
});
