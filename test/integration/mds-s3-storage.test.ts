/**
 * File systems on S3 (a real s3rver over HTTP with SigV4): the MDS checks
 * the bucket before recording the fs, keeps the credentials, hands them only
 * to mounting clients, and never shows or logs them.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType, type StorageInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds, type MdsHandle } from '../../mds/index.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { startStubMetaservers, type StubMetaservers } from './mds-stub-metaservers.js';

let s3: S3Server;
let dir: TempDir;
let mds: MdsHandle;
let client: RpcClient<MdsMethods>;
let stubs: StubMetaservers;
let logText = '';

const storage = (bucket: string): StorageInfo => ({
  type: StorageType.S3,
  local: null,
  keyPrefix: 'curvefs',
  s3: { endpoint: s3.endpoint, bucket, accessKey: s3.accessKeyId, secretKey: s3.secretAccessKey, region: s3.region, forcePathStyle: true },
});

before(async () => {
  s3 = await startS3Server();
  dir = await makeTempDir('mds-s3');
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString()));
  mds = await startMds({ listen: '127.0.0.1:0', dataDir: dir.path, logger: createLogger({ name: 'mds', level: 'debug', destination: logStream }) });
  client = new RpcClient(mdsService(), { addresses: [mds.address] });
  stubs = await startStubMetaservers({ count: 3, zones: ['a', 'b', 'c'], mdsAddresses: [mds.address] });
});

after(async () => {
  client.close();
  await stubs.stop();
  await mds.stop();
  await s3.destroy();
  await dir.remove();
});

test('an fs on a reachable bucket is created; credentials are masked except for mounts', async () => {
  const created = await client.call('CreateFs', { fsName: 'ons3', storage: storage(s3.bucket) });
  assert.equal(created.status, MetaStatusCode.OK, created.errorMessage);
  assert.equal(created.fsInfo!.storage!.s3!.secretKey, '***');
  assert.equal(created.fsInfo!.storage!.s3!.accessKey, '***');
  const info = await client.call('GetFsInfo', { fsName: 'ons3' });
  assert.equal(info.fsInfo!.storage!.s3!.secretKey, '***');
  assert.equal(info.fsInfo!.storage!.s3!.endpoint, s3.endpoint);
  const listed = await client.call('ListFs', {});
  assert.ok(listed.fsInfos.every((f) => f.storage!.s3 === null || f.storage!.s3.secretKey === '***'));
  const mount = await client.call('MountFs', { fsName: 'ons3', mountpoint: { hostname: 'h', path: '/mnt/s3' } });
  assert.equal(mount.status, MetaStatusCode.OK);
  assert.equal(mount.fsInfo!.storage!.s3!.secretKey, s3.secretAccessKey);
  assert.equal(mount.fsInfo!.storage!.s3!.accessKey, s3.accessKeyId);
  assert.equal((await client.call('UmountFs', { sessionId: mount.sessionId })).status, MetaStatusCode.OK);
});

test('a missing bucket and a stopped endpoint are refused with clear errors, and nothing is recorded', async () => {
  const missing = await client.call('CreateFs', { fsName: 'nobucket', storage: storage('no-such-bucket') });
  assert.equal(missing.status, MetaStatusCode.STORAGE_ERROR);
  assert.match(missing.errorMessage, /no-such-bucket .* bucket does not exist/);
  await s3.stop();
  try {
    const down = await client.call('CreateFs', { fsName: 'down', storage: storage(s3.bucket) });
    assert.equal(down.status, MetaStatusCode.STORAGE_ERROR);
    assert.match(down.errorMessage, /is unreachable/);
  } finally {
    await s3.start();
  }
  const names = (await client.call('ListFs', {})).fsInfos.map((f) => f.fsName);
  assert.deepEqual(names, ['ons3']);
});

test('the logs never contain the credentials', async () => {
  assert.ok(logText.includes('fs created'), 'the MDS did log');
  assert.equal(logText.includes(s3.secretAccessKey), false);
});
