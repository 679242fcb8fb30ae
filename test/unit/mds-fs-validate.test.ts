import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPowerOfTwo, validateFsName, validateSizes, validateStorage } from '../../mds/fs/fs-validate.js';
import { StorageType } from '../../src/proto/types-common.js';

test('powers of two', () => {
  for (const n of [1, 2, 4096, 2 ** 30, 2 ** 40]) assert.equal(isPowerOfTwo(n), true, String(n));
  for (const n of [0, -4, 3, 4097, 1.5, NaN, 2 ** 60 + 1]) assert.equal(isPowerOfTwo(n), false, String(n));
});

test('sizes: block 4 KiB..64 MiB, chunk from block to 1 GiB', () => {
  assert.equal(validateSizes(4 << 20, 64 << 20), null);
  assert.match(validateSizes(3000, 64 << 20)!, /block size 3000/);
  assert.match(validateSizes(2048, 64 << 20)!, /block size/);
  assert.match(validateSizes(128 << 20, 128 << 20)!, /block size/);
  assert.match(validateSizes(4 << 20, 2 << 20)!, /chunk size/);
  assert.match(validateSizes(4 << 20, 2 ** 31)!, /chunk size/);
});

test('names and storage', () => {
  assert.equal(validateFsName('my-fs_1.x'), null);
  for (const bad of ['', '-x', 'a/b', '..', 'x'.repeat(65), 'ü']) assert.notEqual(validateFsName(bad), null, bad);
  assert.match(validateStorage(null)!, /missing/);
  assert.match(validateStorage({ type: StorageType.LOCAL, s3: null, local: { path: 'rel' }, keyPrefix: '' })!, /absolute/);
  const s3 = { endpoint: 'http://127.0.0.1:9000', bucket: 'curvefs', accessKey: 'a', secretKey: 's', region: '', forcePathStyle: true };
  assert.equal(validateStorage({ type: StorageType.S3, s3, local: null, keyPrefix: '' }), null);
  assert.match(validateStorage({ type: StorageType.S3, s3: { ...s3, secretKey: '' }, local: null, keyPrefix: '' })!, /secret key/);
  assert.match(validateStorage({ type: StorageType.S3, s3: { ...s3, endpoint: 'ftp://x' }, local: null, keyPrefix: '' })!, /endpoint/);
  assert.match(validateStorage({ type: StorageType.UNSPECIFIED, s3: null, local: null, keyPrefix: '' })!, /not supported/);
});
