/**
 * Checks that a new file system's object storage is reachable before the
 * MDS records it, so a typo fails CreateFs with a clear message instead of
 * every later write. Messages name the endpoint and bucket, never the keys.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageInfo } from '../../src/proto/types-common.js';
import { StorageType } from '../../src/proto/types-common.js';

export const STORAGE_CHECK_TIMEOUT_MS = 5000;

/** Resolves when the storage answers; rejects with a credential-free message otherwise. */
export type StorageChecker = (storage: StorageInfo) => Promise<void>;

export const checkStorageReachable: StorageChecker = async (storage) => {
  if (storage.type === StorageType.LOCAL && storage.local !== null) {
    await checkLocalDir(storage.local.path);
    return;
  }
  if (storage.type === StorageType.S3 && storage.s3 !== null) {
    await checkS3(storage.s3);
    return;
  }
  throw new Error('unsupported storage type');
};

async function checkLocalDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.curvefs-probe-${randomBytes(6).toString('hex')}`);
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(probe, 'probe');
    await fs.promises.rm(probe, { force: true });
  } catch (e) {
    throw new Error(`local storage directory ${dir} is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function checkS3(s3: NonNullable<StorageInfo['s3']>): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region || 'us-east-1',
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    maxAttempts: 1,
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }), {
      abortSignal: AbortSignal.timeout(STORAGE_CHECK_TIMEOUT_MS),
    });
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
    const status = err.$metadata?.httpStatusCode;
    const why = status === 404 ? 'bucket does not exist' : status === 403 ? 'access denied (check the keys)' : `${err.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}${err.code ? ` ${err.code}` : ''}`;
    throw new Error(`S3 bucket ${s3.bucket} at ${s3.endpoint} is unreachable: ${why}`);
  } finally {
    client.destroy();
  }
}
