/**
 * Builds the object store a file system's StorageInfo names (S3 or a local
 * directory). Shared by every process that touches file data: the client's
 * data path, the metaserver's compaction and deletion, and the tools.
 */
import { ConfigError } from '../common/errors.js';
import { StorageType, type StorageInfo } from '../proto/types-common.js';
import { LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';

export function objectStoreFromStorageInfo(
  storage: StorageInfo | null,
  s3Tuning: Partial<Omit<S3ObjectStoreOptions, 'endpoint' | 'region' | 'bucket' | 'accessKeyId' | 'secretAccessKey'>> = {},
): ObjectStore {
  if (storage?.type === StorageType.LOCAL && storage.local !== null && storage.local.path !== '') {
    return new LocalObjectStore(storage.local.path);
  }
  if (storage?.type === StorageType.S3 && storage.s3 !== null) {
    const s3 = storage.s3;
    return new S3ObjectStore({
      ...s3Tuning,
      ...(s3.endpoint !== '' ? { endpoint: s3.endpoint } : {}),
      region: s3.region || 'us-east-1',
      bucket: s3.bucket,
      forcePathStyle: s3.forcePathStyle,
      accessKeyId: s3.accessKey,
      secretAccessKey: s3.secretKey,
    });
  }
  throw new ConfigError('storage', 'the file system names no usable object storage (S3 or local directory)');
}
