/**
 * Child process of data-crash.test.ts: a writer with a write-back disk cache
 * on a local object store and on-disk reference metadata. Round k writes
 * file (inode 1000 + k) whole and appends segment k to the log file (inode
 * 999), fsyncs both, then prints `acked k`. The parent kills it with SIGKILL
 * at a random moment, or the child kills itself inside a chosen step
 * (CRASH_AT=put|commit|journal, on the Nth call) to land in that window
 * exactly; `journal` writes half of the record first (a torn append).
 *   node data-crash-child.js <storeDir> <metaFile> <cacheDir> <seed>
 */
import { appendFileSync } from 'node:fs';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { encodeRecord, JournalWriter, type JournalRecord } from '../../client/data/write-back-journal.js';
import { DataClient } from '../../client/data/data-client.js';
import { PersistentReferenceMetadata } from '../helpers/reference-chunk-info-store.js';
import { CRASH_GEOMETRY, LOG_INODE, roundFile, roundSegment } from './data-crash-shared.js';

const [storeDir, metaFile, cacheDir, seedText] = process.argv.slice(2) as [string, string, string, string];
const seed = Number(seedText);
const crashAt = process.env['CRASH_AT'] ?? '';
const crashAfter = Number(process.env['CRASH_AFTER'] ?? '0');
let calls = 0;
const maybeCrash = (step: string): void => {
  if (step === crashAt && ++calls > crashAfter) process.kill(process.pid, 'SIGKILL');
};

if (crashAt === 'journal') {
  const append = JournalWriter.prototype.append;
  JournalWriter.prototype.append = function (this: JournalWriter, records: readonly JournalRecord[]): Promise<void> {
    if (++calls > crashAfter) {
      const text = records.map(encodeRecord).join('');
      appendFileSync(`${cacheDir}/write/journal`, text.slice(0, Math.floor(text.length / 2)));
      process.kill(process.pid, 'SIGKILL');
    }
    return append.call(this, records);
  };
}

const local = new LocalObjectStore(storeDir);
const store = Object.assign(Object.create(local) as LocalObjectStore, {
  async put(key: string, data: Uint8Array): Promise<void> {
    maybeCrash('put');
    await new Promise((r) => setTimeout(r, 2));
    await local.put(key, data);
  },
});
const meta = PersistentReferenceMetadata.open(metaFile);
const metaSeam = {
  getChunkInfos: meta.getChunkInfos.bind(meta),
  truncate: meta.truncate.bind(meta),
  async appendChunkInfos(...args: Parameters<typeof meta.appendChunkInfos>): Promise<void> {
    maybeCrash('commit');
    await meta.appendChunkInfos(...args);
  },
};

const client = await DataClient.start({
  fsId: 1,
  geometry: CRASH_GEOMETRY,
  store,
  chunkInfos: metaSeam,
  chunkIds: meta,
  memoryLimitBytes: 1 << 20,
  flushIntervalMs: 20,
  diskCache: { dir: cacheDir, limitBytes: 64 << 20, writeBack: true },
});
process.stdout.write('started\n');
const log = client.open(LOG_INODE, meta.lengthOf(LOG_INODE));
let logLength = log.lengthBytes;
for (let k = 0; k < 1000; k++) {
  const file = client.open(1000 + k, 0);
  const data = roundFile(seed, k);
  // Several writes, out of order, so flushes cut ranges in different ways.
  const half = Math.floor(data.length / 2);
  await file.write(half, data.subarray(half));
  await file.write(0, data.subarray(0, half));
  const segment = roundSegment(seed, k);
  await log.write(logLength, segment);
  logLength += segment.length;
  await file.fsync();
  await log.fsync();
  process.stdout.write(`acked ${k} ${logLength}\n`);
  await file.close();
}
