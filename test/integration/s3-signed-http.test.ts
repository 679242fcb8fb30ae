/**
 * The data path's own SigV4 requests (s3-signed-http.ts) against a real
 * S3-compatible server (s3rver on loopback): keys that need escaping, byte
 * ranges, missing keys. s3rver does not verify V4 signatures, so the
 * signature itself is checked against AWS's published known answer.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StorageError } from '../../src/common/errors.js';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3ObjectStore } from '../../src/object/s3-object-store.js';
import { S3SignedHttp } from '../../src/object/s3-signed-http.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

let s3: S3Server;
let store: S3ObjectStore;

function storeWith(secretAccessKey: string): S3ObjectStore {
  return new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey,
    retryDeadlineMs: 5_000,
  });
}

before(async () => {
  s3 = await startS3Server();
  store = storeWith(s3.secretAccessKey);
});

after(async () => {
  await store?.close();
  await s3?.destroy();
});

test('keys that need escaping round-trip with a valid signature', async () => {
  const keys = ['a b/c+d', 'x=1&y=2/z', 'pct%41/é', "quote'paren(1)/*star", 'tilde~_-.'];
  for (const [i, key] of keys.entries()) {
    const data = Buffer.from(`object ${i} ${key}`);
    await store.put(key, data);
    assert.deepEqual(await store.get(key), data, key);
    assert.equal((await store.head(key)).sizeBytes, data.length, key);
  }
  const listed = (await store.list('')).objects.map((o) => o.key).sort();
  assert.deepEqual(listed, [...keys].sort());
});

test('ranges: inside, across the end, past the end, and into a caller buffer', async () => {
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  await store.put('ranged', data);
  assert.deepEqual(await store.get('ranged', { offset: 1000, length: 5000 }), data.subarray(1000, 6000));
  assert.deepEqual(await store.get('ranged', { offset: 99_000, length: 5000 }), data.subarray(99_000));
  assert.equal((await store.get('ranged', { offset: 200_000, length: 10 })).length, 0);
  let asked = -1;
  const whole = await store.get('ranged', undefined, (n) => {
    asked = n;
    return Buffer.allocUnsafe(n);
  });
  assert.equal(asked, data.length);
  assert.deepEqual(whole, data);
});

test('a missing key is a not-found StorageError for get and head', async () => {
  for (const op of [() => store.get('no/such/key'), () => store.head('no/such/key')]) {
    await assert.rejects(op(), (e: unknown) => e instanceof StorageError && e.code === 'CURVEFS_ERR_NOT_FOUND');
  }
});

test('the signature matches the AWS documentation\'s known answer (GET with a range)', async () => {
  // "Signature Calculations for the Authorization Header", example GET Object (AWS S3 API reference).
  const http = new S3SignedHttp({
    endpoint: 'https://s3.amazonaws.com',
    region: 'us-east-1',
    bucket: 'examplebucket',
    forcePathStyle: false,
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    agents: { http: new HttpAgent(), https: new HttpsAgent() },
  });
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const signed = await http.sign('GET', 'test.txt', { range: 'bytes=0-9', 'x-amz-content-sha256': empty }, new Date('2013-05-24T00:00:00Z'));
  assert.equal(signed.path, '/test.txt');
  assert.equal(signed.headers['host'], 'examplebucket.s3.amazonaws.com');
  assert.equal(
    signed.headers['authorization'],
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
      'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
      'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});
