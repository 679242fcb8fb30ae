import { test } from 'node:test';
import { S3ObjectStore } from '../../src/object/s3-object-store.js';
import { startS3Server } from '../helpers/s3-server.js';
import { makeTempDir } from '../helpers/tmp.js';
import { runDataModel } from './data-model.js';

test('data path matches a reference file: S3 (s3rver on loopback)', async () => {
  const s3 = await startS3Server();
  const dir = await makeTempDir('datamodel-s3');
  const store = new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    retryDeadlineMs: 5_000,
  });
  try {
    for (const seed of [21, 22, 23]) await runDataModel({ seed, ops: 300, store });
    await runDataModel({ seed: 24, ops: 300, store, client: { diskCache: { dir: `${dir.path}/cache`, limitBytes: 4 << 20, writeBack: true } } });
    await runDataModel({ seed: 25, ops: 300, store, client: { diskCache: { dir: `${dir.path}/rcache`, limitBytes: 2 << 20, writeBack: false } } });
  } finally {
    await store.close();
    await s3.destroy();
    await dir.remove();
  }
});
