/**
 * Data-path benchmark (no FUSE): against s3rver on loopback and against the
 * local-directory backend, sequential write and read of a large file, random
 * 4 KiB reads over it, and many 4 KiB files, each beside raw PUT/GET of the
 * same bytes through the same ObjectStore client (the ceiling).
 * Metadata is the in-process reference store: this measures the data path.
 *   npm run bench:data [-- --quick]
 * The last line reads `data: write <MiB/s> read <MiB/s> ceiling <MiB/s>` for S3,
 * where the ceiling is the lower of raw PUT and raw GET throughput.
 */
import { SeededRandom } from '../src/common/random.js';
import { DEFAULT_GEOMETRY } from '../src/layout/geometry.js';
import { objectKey } from '../src/layout/object-key.js';
import { LocalObjectStore } from '../src/object/local-object-store.js';
import type { ObjectStore } from '../src/object/object-store.js';
import { S3ObjectStore } from '../src/object/s3-object-store.js';
import { DataClient } from '../client/data/data-client.js';
import type { DataClientOptions } from '../client/data/data-options.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../test/helpers/reference-chunk-info-store.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { makeTempDir } from '../test/helpers/tmp.js';

const quick = process.argv.includes('--quick');
const FILE_BYTES = quick ? 128 << 20 : 1 << 30;
const IO_BYTES = 1 << 20;
const RANDOM_READS = quick ? 1_000 : 5_000;
const SMALL_FILES = quick ? 1_000 : 10_000;
const SMALL_FILE_BYTES = 4096;
const CONCURRENCY = 16;
const REPEATS = quick ? 2 : 1;
const MiB = 1 << 20;

interface Row {
  backend: string;
  test: string;
  value: string;
  raw: string;
  ratio: string;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((seed * 2654435761 + i) >>> 0, i);
  return b;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(0)}%`;
}

async function benchBackend(name: string, store: ObjectStore): Promise<{ rows: Row[]; write: number; read: number; ceiling: number }> {
  const rows: Row[] = [];
  const block = DEFAULT_GEOMETRY.blockSizeBytes;
  const blocks = FILE_BYTES / block;
  const payload = Array.from({ length: 8 }, (_, i) => pattern(block, i));

  // Raw ceiling: the same bytes as whole blocks through the same client and
  // concurrency, under keys of the same shape (some servers store a key as a
  // path, so key depth has a cost of its own).
  const rawKey = (inodeId: number, i: number): string => objectKey('raw', { fsId: 1, inodeId, chunkId: i, blockIndex: 0, compaction: 0 });
  const meta = new ReferenceChunkInfoStore();
  const ids = new ReferenceChunkIdAllocator();
  const options: DataClientOptions = {
    fsId: 1,
    geometry: DEFAULT_GEOMETRY,
    store,
    chunkInfos: meta,
    chunkIds: ids,
    uploadConcurrency: CONCURRENCY,
    readConcurrency: CONCURRENCY,
    memoryLimitBytes: 256 << 20,
    readAheadMaxBytes: CONCURRENCY * block,
  };

  // Raw and data-path passes alternate, REPEATS times each, and the best of
  // each counts: a loopback server shares the CPU with the client, and the
  // alternation keeps page-cache and warm-up effects from favouring one side.
  let rawPut = 0;
  let rawGet = 0;
  let write = 0;
  let read = 0;
  for (let rep = 0; rep < REPEATS; rep++) {
    const rawPutS = await timed(() => pool(blocks, CONCURRENCY, (i) => store.put(rawKey(rep + 1, i), payload[i % 8]!)));
    rawPut = Math.max(rawPut, FILE_BYTES / MiB / rawPutS);

    // Sequential write: 1 MiB writes, then close (uploaded and committed).
    const inodeId = rep + 1;
    const writer = await DataClient.start(options);
    const wh = writer.open(inodeId, 0);
    const writeS = await timed(async () => {
      for (let off = 0; off < FILE_BYTES; off += IO_BYTES) {
        await wh.write(off, payload[Math.floor(off / block) % 8]!.subarray(off % block, (off % block) + IO_BYTES));
      }
      await wh.close();
    });
    await writer.close();
    write = Math.max(write, FILE_BYTES / MiB / writeS);

    const rawGetS = await timed(() => pool(blocks, CONCURRENCY, async (i) => void (await store.get(rawKey(rep + 1, i)))));
    rawGet = Math.max(rawGet, FILE_BYTES / MiB / rawGetS);

    // Sequential read from a fresh client (cold caches), 1 MiB reads into one
    // reused buffer (as the FUSE mount reads into the kernel's), checked.
    const reader = await DataClient.start(options);
    const rh = reader.open(inodeId, meta.lengthOf(inodeId));
    const into = Buffer.allocUnsafe(IO_BYTES);
    const readS = await timed(async () => {
      for (let off = 0; off < FILE_BYTES; off += IO_BYTES) {
        const n = await rh.readInto(off, IO_BYTES, into);
        if (n !== IO_BYTES) throw new Error(`short read at ${off}`);
        const got = into;
        if (off % (32 * MiB) === 0) {
          const want = payload[Math.floor(off / block) % 8]!.subarray(off % block, (off % block) + IO_BYTES);
          if (!got.equals(want)) throw new Error(`bad data at ${off}`);
        }
      }
    });
    await rh.close();
    await reader.close();
    read = Math.max(read, FILE_BYTES / MiB / readS);
  }

  // Random 4 KiB reads (fresh client, no read cache), CONCURRENCY readers on one handle.
  const rng = new SeededRandom(42);
  const latencies: number[] = [];
  let randomS = Infinity;
  let rawRandomS = Infinity;
  for (let rep = 0; rep < REPEATS; rep++) {
    rawRandomS = Math.min(rawRandomS, await timed(() =>
      pool(RANDOM_READS, CONCURRENCY, async () => {
        await store.get(rawKey(1, rng.int(blocks)), { offset: rng.int(block / 4096) * 4096, length: 4096 });
      }),
    ));
    const random = await DataClient.start(options);
    const rr = random.open(1, meta.lengthOf(1));
    latencies.length = 0;
    randomS = Math.min(randomS, await timed(() =>
      pool(RANDOM_READS, CONCURRENCY, async () => {
        const off = rng.int(FILE_BYTES / 4096) * 4096;
        const t = performance.now();
        await rr.read(off, 4096);
        latencies.push(performance.now() - t);
      }),
    ));
    await rr.close();
    await random.close();
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)]!;

  // Small files: open, write 4 KiB, close (uploaded and committed), CONCURRENCY at a time.
  const smallData = pattern(SMALL_FILE_BYTES, 9);
  let smallS = Infinity;
  let rawSmallS = Infinity;
  for (let rep = 0; rep < REPEATS; rep++) {
    const base = 10_000 + rep * SMALL_FILES;
    rawSmallS = Math.min(rawSmallS, await timed(() => pool(SMALL_FILES, CONCURRENCY, (i) => store.put(rawKey(base + i, 1), smallData))));
    const small = await DataClient.start(options);
    smallS = Math.min(smallS, await timed(() =>
      pool(SMALL_FILES, CONCURRENCY, async (i) => {
        const h = small.open(base + i, 0);
        await h.write(0, smallData);
        await h.close();
      }),
    ));
    await small.close();
  }

  const mbs = (x: number): string => `${x.toFixed(1)} MiB/s`;
  const ops = (n: number, s: number): string => `${(n / s).toFixed(0)}/s`;
  rows.push({ backend: name, test: `seq write ${FILE_BYTES / MiB} MiB`, value: mbs(write), raw: `PUT ${mbs(rawPut)}`, ratio: pct(write, rawPut) });
  rows.push({ backend: name, test: `seq read ${FILE_BYTES / MiB} MiB`, value: mbs(read), raw: `GET ${mbs(rawGet)}`, ratio: pct(read, rawGet) });
  rows.push({ backend: name, test: `random 4 KiB reads x${RANDOM_READS}`, value: `${ops(RANDOM_READS, randomS)} p99 ${p99.toFixed(1)} ms`, raw: `ranged GET ${ops(RANDOM_READS, rawRandomS)}`, ratio: pct(rawRandomS, randomS) });
  rows.push({ backend: name, test: `${SMALL_FILES} files of 4 KiB`, value: ops(SMALL_FILES, smallS), raw: `PUT ${ops(SMALL_FILES, rawSmallS)}`, ratio: pct(rawSmallS, smallS) });
  return { rows, write, read, ceiling: Math.min(rawPut, rawGet) };
}

function printTable(rows: Row[]): void {
  const header: Row = { backend: 'backend', test: 'test', value: 'data path', raw: 'raw (same client)', ratio: 'of raw' };
  const all = [header, ...rows];
  const keys: Array<keyof Row> = ['backend', 'test', 'value', 'raw', 'ratio'];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  for (const r of all) console.log(keys.map((k, i) => r[k].padEnd(widths[i]!)).join('  '));
}

async function main(): Promise<void> {
  const s3 = await startS3Server();
  const dir = await makeTempDir('databench');
  const s3store = new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    maxSockets: CONCURRENCY * 2,
  });
  try {
    const local = await benchBackend('local', new LocalObjectStore(dir.path));
    const remote = await benchBackend('s3rver', s3store);
    printTable([...remote.rows, ...local.rows]);
    console.log(`data: write ${remote.write.toFixed(1)} read ${remote.read.toFixed(1)} ceiling ${remote.ceiling.toFixed(1)}`);
  } finally {
    await s3store.close();
    await s3.destroy();
    await dir.remove();
  }
}

await main();
