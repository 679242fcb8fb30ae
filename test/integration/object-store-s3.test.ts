import { S3ObjectStore } from '../../src/object/s3-object-store.js';
import { startS3Server } from '../helpers/s3-server.js';
import { testObjectStore } from './object-store-conformance.js';

testObjectStore('S3 (s3rver on loopback)', async () => {
  const s3 = await startS3Server();
  const store = new S3ObjectStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    retryDeadlineMs: 5_000,
  });
  return {
    store,
    teardown: async () => {
      await store.close();
      await s3.destroy();
    },
  };
});
