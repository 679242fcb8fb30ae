/**
 * Bounds on what one request may carry. A request beyond them is refused
 * (PARAM_ERROR / NAME_TOO_LONG / RANGE_ERROR) before anything changes.
 */
import { Buffer } from 'node:buffer';
import { MetaStatusCode } from '../../src/common/meta-status.js';

/** Every partition owns this many inode ids. */
export const PARTITION_ID_COUNT = 2 ** 20;
export const NAME_BYTES_MAX = 255;
export const SYMLINK_BYTES_MAX = 4096;
export const XATTR_NAME_BYTES_MAX = 255;
export const XATTR_VALUE_BYTES_MAX = 64 * 1024;
export const XATTR_COUNT_MAX = 1024;
export const BATCH_IDS_MAX = 10_000;
export const LIST_COUNT_MAX = 10_000;
export const LIST_COUNT_DEFAULT = 1_000;
export const APPEND_INFOS_MAX = 10_000;
export const CHUNK_INFOS_PER_CHUNK_MAX = 100_000;
export const TX_WRITES_MAX = 16;
/** Successful changes remembered per copyset by request id (exactly-once resends), oldest forgotten first. */
export const RECENT_REQUESTS_MAX = 10_000;
export const REQUEST_ID_LENGTH_MAX = 128;
/**
 * Finished transaction outcomes kept per partition (oldest forgotten first):
 * they refuse late prewrites and commits and tell resolvers how a
 * transaction ended, so this must outlast any abandoned transaction's locks.
 */
export const TX_RECORDS_MAX = 20_000;
export const TX_TTL_MS_MAX = 10 * 60 * 1000;

/** Checks a dentry name: 1..255 bytes of UTF-8, no '/' and no NUL. */
export function checkName(name: string): MetaStatusCode {
  if (typeof name !== 'string' || name.length === 0) return MetaStatusCode.PARAM_ERROR;
  if (Buffer.byteLength(name, 'utf8') > NAME_BYTES_MAX) return MetaStatusCode.NAME_TOO_LONG;
  if (name.includes('/') || name.includes('\0')) return MetaStatusCode.PARAM_ERROR;
  if (name === '.' || name === '..') return MetaStatusCode.PARAM_ERROR;
  return MetaStatusCode.OK;
}

export function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function isUint32(n: unknown): n is number {
  return isUint(n) && n <= 0xffff_ffff;
}

export function isTimespec(t: unknown): boolean {
  if (typeof t !== 'object' || t === null) return false;
  const { sec, nsec } = t as { sec: unknown; nsec: unknown };
  return typeof sec === 'number' && Number.isSafeInteger(sec) && isUint(nsec) && nsec < 1e9;
}
