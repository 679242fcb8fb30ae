/**
 * S3 outage: the server is stopped during writes. Flushes wait and resume
 * when it returns; past the configured timeout fsync fails with EIO and the
 * data stays buffered, so nothing acknowledged is lost; a write-back cache
 * acknowledges from local disk and uploads once S3 is back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, toErrno } from '../../src/common/errno.js';
import { S3ObjectStore } from '../../src/object/s3-object-store.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { DataClient } from '../../client/data/data-client.js';
import type { DataClientOptions } from '../../client/data/data-options.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';
import { ReferenceFile, SMALL_GEOMETRY } from './data-model.js';

let s3: S3Server;
let store: S3ObjectStore;
let dir: TempDir;

before(async () => {
  s3 = await startS3Server();
  dir = await makeTempDir('outage');
  store = new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    // Short store-level retries: the data path's own deadline is what is tested.
    retryDeadlineMs: 500,
    connectTimeoutMs: 500,
    requestTimeoutMs: 2_000,
  });
});

after(async () => {
  await store.close();
  await s3.destroy();
  await dir.remove();
});

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7 + (i >> 9)) & 0xff;
  return b;
}

function options(meta: ReferenceChunkInfoStore, extra: Partial<DataClientOptions>): DataClientOptions {
  return {
    fsId: 1,
    geometry: SMALL_GEOMETRY,
    store,
    chunkInfos: meta,
    chunkIds: new ReferenceChunkIdAllocator(),
    memoryLimitBytes: 4 << 20,
    flushIntervalMs: 50,
    ...extra,
  };
}

async function readAll(opts: DataClientOptions, meta: ReferenceChunkInfoStore, inodeId: number): Promise<Buffer> {
  const other = await DataClient.start({ ...opts, diskCache: undefined, chunkIds: new ReferenceChunkIdAllocator(1 << 30) });
  const h = other.open(inodeId, meta.lengthOf(inodeId));
  const data = await h.read(0, h.lengthBytes);
  await h.close();
  await other.close();
  return data;
}

test('fsync waits through a short outage and completes when S3 returns', async () => {
  const meta = new ReferenceChunkInfoStore();
  const opts = options(meta, { uploadTimeoutMs: 20_000, keyPrefix: 'wait' });
  const client = await DataClient.start(opts);
  const model = new ReferenceFile();
  const h = client.open(1, 0);
  const first = pattern(300_000, 1);
  await h.write(0, first);
  model.write(0, first);
  await h.fsync();
  await s3.stop();
  const second = pattern(500_000, 2);
  await h.write(200_000, second);
  model.write(200_000, second);
  const synced = h.fsync();
  let isSynced = false;
  void synced.then(() => (isSynced = true), () => undefined);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(isSynced, false, 'fsync cannot finish while S3 is down');
  await s3.start();
  await synced;
  await h.close();
  assert.ok((await readAll(opts, meta, 1)).equals(model.bytes));
  await client.close();
});

test('past the upload timeout fsync fails with EIO; after S3 returns nothing acknowledged is lost', async () => {
  const meta = new ReferenceChunkInfoStore();
  const opts = options(meta, { uploadTimeoutMs: 1_000, writeWaitTimeoutMs: 1_000, memoryLimitBytes: 1 << 20, keyPrefix: 'eio' });
  const client = await DataClient.start(opts);
  const model = new ReferenceFile();
  const h = client.open(2, 0);
  const first = pattern(200_000, 3);
  await h.write(0, first);
  model.write(0, first);
  await h.fsync();
  await s3.stop();
  // Writes are buffered (acknowledged to the writer) until memory runs out.
  const second = pattern(150_000, 4);
  await h.write(100_000, second);
  model.write(100_000, second);
  const error = await h.fsync().then(() => null, (e: unknown) => e);
  assert.ok(error !== null, 'fsync must fail while S3 stays down');
  assert.equal(toErrno(error), Errno.EIO);
  // A writer that needs more memory than is free waits, then fails with EIO too.
  const big = pattern(1 << 20, 5);
  const writeError = await h.write(400_000, big).then(() => null, (e: unknown) => e);
  assert.ok(writeError !== null, 'a write beyond the memory ceiling fails when nothing can be flushed');
  assert.equal(toErrno(writeError), Errno.EIO);
  // The part of the big write that was accepted before memory ran out is buffered: mirror it by reading back.
  const accepted = await h.read(400_000, big.length);
  assert.ok(accepted.equals(big.subarray(0, accepted.length)) || accepted.length === 0);
  model.write(400_000, big.subarray(0, accepted.length));
  await s3.start();
  await h.fsync();
  await h.close();
  const got = await readAll(opts, meta, 2);
  assert.ok(got.equals(model.bytes), 'everything acknowledged is in S3 and committed');
  await client.close();
});

test('a hung S3 (SIGSTOP) times requests out: fsync fails with EIO in bounded time, then recovers', async () => {
  const meta = new ReferenceChunkInfoStore();
  const impatient = new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    requestTimeoutMs: 500,
    retryDeadlineMs: 500,
  });
  // The client talks to `current`: the impatient store while the server hangs,
  // the normal one once it is back.
  let current: ObjectStore = impatient;
  const switching: ObjectStore = {
    description: 'switching',
    put: (k, d) => current.put(k, d),
    get: (k, r) => current.get(k, r),
    head: (k) => current.head(k),
    delete: (k) => current.delete(k),
    deleteMany: (ks) => current.deleteMany(ks),
    list: (p, c, l) => current.list(p, c, l),
    close: async () => undefined,
  };
  const opts = { ...options(meta, { uploadTimeoutMs: 1_500, keyPrefix: 'hung' }), store: switching };
  const client = await DataClient.start(opts);
  try {
    const h = client.open(4, 0);
    const data = pattern(200_000, 7);
    await h.write(0, data);
    s3.pause();
    const started = performance.now();
    const error = await h.fsync().then(() => null, (e: unknown) => e);
    const elapsedMs = performance.now() - started;
    s3.resume();
    assert.equal(toErrno(error), Errno.EIO);
    assert.ok(elapsedMs < 6_000, `fsync against a hung server took ${elapsedMs} ms`);
    // s3rver streams a PUT body straight into the object file (not atomic):
    // a request we aborted while it was stopped is still written, truncated,
    // once it wakes. Real S3 discards an incomplete PUT. Let the woken server
    // work off that backlog before the retry that must win.
    await new Promise((r) => setTimeout(r, 1_000));
    current = store;
    await h.fsync();
    await h.close();
    assert.ok((await readAll({ ...opts, store }, meta, 4)).equals(data));
  } finally {
    s3.resume();
    await client.close();
    await impatient.close();
  }
});

test('with a write-back cache, fsync succeeds from local disk while S3 is down; upload resumes', async () => {
  const meta = new ReferenceChunkInfoStore();
  const opts = options(meta, {
    uploadTimeoutMs: 20_000,
    keyPrefix: 'wb',
    diskCache: { dir: `${dir.path}/wb`, limitBytes: 16 << 20, writeBack: true },
  });
  const client = await DataClient.start(opts);
  await s3.stop();
  const h = client.open(3, 0);
  const data = pattern(700_000, 6);
  await h.write(0, data);
  await h.fsync();
  assert.ok(client.stagedBytes > 0, 'staged on local disk');
  assert.equal(meta.lengthOf(3), 0, 'not committed while S3 is down');
  // The writing client reads its staged data back at once.
  assert.ok((await h.read(0, data.length)).equals(data));
  await h.close();
  await s3.start();
  await client.drain(20_000);
  assert.equal(client.stagedBytes, 0);
  assert.ok((await readAll(opts, meta, 3)).equals(data));
  await client.close();
});
