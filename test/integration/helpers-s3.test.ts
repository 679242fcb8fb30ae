/**
 * The s3rver helper: a real S3 server in a child process on a free port,
 * reached with @aws-sdk/client-s3 (path style, SigV4), stopped and restarted
 * on the same port with its data, frozen and thawed, and its port freed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isPortFree, isValidBucketName, startS3Server, type S3Server } from '../helpers/index.js';

function payload(bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) & 0xff;
  return data;
}

async function getBytes(client: S3Client, bucket: string, key: string, range?: string, signal?: AbortSignal): Promise<Buffer> {
  const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }), { abortSignal: signal });
  assert.ok(reply.Body, 'GetObject returns a body');
  return Buffer.from(await reply.Body.transformToByteArray());
}

function clientFor(s3: S3Server): S3Client {
  return new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
}

test('s3rver: real PutObject/GetObject (full and ranged), stop frees the port, start keeps the data', async (t) => {
  const s3 = await startS3Server();
  t.after(() => s3.destroy());
  assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(isValidBucketName(s3.bucket));
  assert.equal(s3.accessKeyId, 'S3RVER');
  assert.equal(await isPortFree(s3.port), false, 'the server holds its port');

  const client = clientFor(s3);
  t.after(() => client.destroy());
  const data = payload(300 * 1024);
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'dir/object-1', Body: data }));
  assert.deepEqual(await getBytes(client, s3.bucket, 'dir/object-1'), data);
  assert.deepEqual(await getBytes(client, s3.bucket, 'dir/object-1', 'bytes=1000-1999'), data.subarray(1000, 2000));
  assert.deepEqual(await getBytes(client, s3.bucket, 'dir/object-1', `bytes=${data.length - 10}-`), data.subarray(data.length - 10));

  await s3.stop();
  assert.equal(s3.isRunning, false);
  assert.equal(await isPortFree(s3.port), true, 'port free after stop');
  await assert.rejects(getBytes(client, s3.bucket, 'dir/object-1'), 'no S3 while stopped');

  await s3.start();
  assert.deepEqual(await getBytes(client, s3.bucket, 'dir/object-1', 'bytes=0-99'), data.subarray(0, 100), 'data survives restart');

  const dataDir = s3.dataDir;
  client.destroy();
  await s3.destroy();
  assert.equal(await isPortFree(s3.port), true, 'port free after destroy');
  assert.equal(fs.existsSync(dataDir), false, 'data dir removed');
});

test('s3rver: pause() hangs requests until resume()', async (t) => {
  const s3 = await startS3Server({ bucket: 'paused-bucket' });
  t.after(() => s3.destroy());
  assert.equal(s3.bucket, 'paused-bucket');
  const client = clientFor(s3);
  t.after(() => client.destroy());
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'k', Body: 'value' }));

  s3.pause();
  const started = Date.now();
  await assert.rejects(getBytes(client, s3.bucket, 'k', undefined, AbortSignal.timeout(300)));
  assert.ok(Date.now() - started >= 250, 'the request hung until its deadline');
  s3.resume();
  assert.equal((await getBytes(client, s3.bucket, 'k')).toString(), 'value');
});

test('s3rver: two servers in one process get distinct ports and buckets', async (t) => {
  const [a, b] = await Promise.all([startS3Server(), startS3Server()]);
  t.after(() => Promise.all([a.destroy(), b.destroy()]));
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.bucket, b.bucket);
  assert.notEqual(a.dataDir, b.dataDir);
});
