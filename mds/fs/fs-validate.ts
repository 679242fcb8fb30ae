/**
 * Validation of CreateFs input (pure). Each check returns a message that
 * names the offending field and the allowed range, so the CLI can print it
 * as is.
 */
import type { StorageInfo } from '../../src/proto/types-common.js';
import { StorageType } from '../../src/proto/types-common.js';

export const BLOCK_SIZE_DEFAULT = 4 * 1024 * 1024;
export const CHUNK_SIZE_DEFAULT = 64 * 1024 * 1024;
export const BLOCK_SIZE_MIN = 4 * 1024;
export const BLOCK_SIZE_MAX = 64 * 1024 * 1024;
export const CHUNK_SIZE_MAX = 1024 * 1024 * 1024;
export const FS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export function validateFsName(name: string): string | null {
  if (!FS_NAME_PATTERN.test(name)) {
    return `fs name ${JSON.stringify(name)} is invalid: 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit`;
  }
  return null;
}

export function validateSizes(blockSizeBytes: number, chunkSizeBytes: number): string | null {
  if (!isPowerOfTwo(blockSizeBytes) || blockSizeBytes < BLOCK_SIZE_MIN || blockSizeBytes > BLOCK_SIZE_MAX) {
    return `block size ${blockSizeBytes} is invalid: a power of two from ${BLOCK_SIZE_MIN} (4 KiB) to ${BLOCK_SIZE_MAX} (64 MiB)`;
  }
  if (!isPowerOfTwo(chunkSizeBytes) || chunkSizeBytes < blockSizeBytes || chunkSizeBytes > CHUNK_SIZE_MAX) {
    return `chunk size ${chunkSizeBytes} is invalid: a power of two from the block size (${blockSizeBytes}) to ${CHUNK_SIZE_MAX} (1 GiB)`;
  }
  return null;
}

export function validateStorage(storage: StorageInfo | null): string | null {
  if (storage === null) return 'storage is missing: give an S3 bucket or a local directory';
  if (storage.keyPrefix.length > 256 || storage.keyPrefix.includes('..')) return 'storage key prefix is invalid';
  switch (storage.type) {
    case StorageType.S3: {
      const s3 = storage.s3;
      if (s3 === null) return 'S3 storage needs endpoint, bucket and keys';
      if (!/^https?:\/\/[^\s]+$/.test(s3.endpoint)) return `S3 endpoint ${JSON.stringify(s3.endpoint)} must be an http(s) URL`;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket)) return `S3 bucket name ${JSON.stringify(s3.bucket)} is invalid`;
      if (s3.accessKey.length === 0 || s3.secretKey.length === 0) return 'S3 access key and secret key are required';
      if (s3.endpoint.length > 2048 || s3.accessKey.length > 1024 || s3.secretKey.length > 1024 || s3.region.length > 64) {
        return 'S3 endpoint, keys or region too long';
      }
      return null;
    }
    case StorageType.LOCAL: {
      const local = storage.local;
      if (local === null || !local.path.startsWith('/')) return 'local storage needs an absolute directory path';
      if (local.path.length > 4096) return 'local storage path too long';
      return null;
    }
    default:
      return `storage type ${storage.type} is not supported: use S3 or LOCAL`;
  }
}
