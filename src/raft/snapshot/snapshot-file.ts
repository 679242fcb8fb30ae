/**
 * The on-disk format of one snapshot file. Pure encoding helpers.
 *
 *   "CVSNAP01"                      8 bytes magic
 *   u32 LE metaLength               meta = JSON {index, term, confState}
 *   u32 LE crc32c(meta)
 *   meta bytes
 *   data bytes                      the state machine's chunks, concatenated
 *   trailer (24 bytes):
 *     u64 LE dataLength
 *     u32 LE crc32c(data)
 *     u32 LE 0 (reserved)
 *     "CVSNAPND"                    8 bytes end magic
 *
 * The trailer goes last, so a file that lost its tail is recognisably
 * incomplete. Files are written under a temporary name, fsync'd, and renamed
 * into place; a name ending in `.snap` therefore always denotes a complete
 * file, and the CRCs catch later media corruption.
 */
import { assert } from '../../common/assert.js';
import { CorruptionError } from '../../common/errors.js';
import type { SnapshotMeta } from '../core/types.js';
import { decodeConfState, encodeConfState } from '../wal/record-codec.js';
import { crc32c } from '../wal/crc32c.js';

export const SNAPSHOT_MAGIC = new TextEncoder().encode('CVSNAP01');
export const SNAPSHOT_END_MAGIC = new TextEncoder().encode('CVSNAPND');
export const SNAPSHOT_TRAILER_BYTES = 24;
const META_BYTES_MAX = 1024 * 1024;

export function encodeSnapshotHeader(meta: SnapshotMeta): Uint8Array {
  assert(Number.isSafeInteger(meta.index) && meta.index >= 0, `bad snapshot index ${meta.index}`);
  assert(Number.isSafeInteger(meta.term) && meta.term >= 0, `bad snapshot term ${meta.term}`);
  const conf = encodeConfState(meta.confState);
  const metaBytes = new TextEncoder().encode(JSON.stringify({ index: meta.index, term: meta.term, conf: Buffer.from(conf).toString('base64') }));
  assert(metaBytes.length <= META_BYTES_MAX, 'snapshot meta too large');
  const out = new Uint8Array(16 + metaBytes.length);
  out.set(SNAPSHOT_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, metaBytes.length, true);
  view.setUint32(12, crc32c(metaBytes), true);
  out.set(metaBytes, 16);
  return out;
}

/** Parses the header at the start of `bytes` (which must hold at least the whole header). */
export function decodeSnapshotHeader(bytes: Uint8Array, what: string): { meta: SnapshotMeta; headerBytes: number } {
  if (bytes.length < 16) throw new CorruptionError(`snapshot ${what}: header truncated`);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SNAPSHOT_MAGIC[i]) throw new CorruptionError(`snapshot ${what}: bad magic`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLength = view.getUint32(8, true);
  if (metaLength > META_BYTES_MAX || 16 + metaLength > bytes.length) {
    throw new CorruptionError(`snapshot ${what}: meta length ${metaLength} invalid`);
  }
  const metaBytes = bytes.subarray(16, 16 + metaLength);
  if (crc32c(metaBytes) !== view.getUint32(12, true)) throw new CorruptionError(`snapshot ${what}: meta crc mismatch`);
  const parsed = JSON.parse(new TextDecoder().decode(metaBytes)) as { index: unknown; term: unknown; conf: unknown };
  if (!Number.isSafeInteger(parsed.index) || !Number.isSafeInteger(parsed.term) || typeof parsed.conf !== 'string') {
    throw new CorruptionError(`snapshot ${what}: meta fields invalid`);
  }
  const meta: SnapshotMeta = {
    index: parsed.index as number,
    term: parsed.term as number,
    confState: decodeConfState(Buffer.from(parsed.conf, 'base64')),
  };
  return { meta, headerBytes: 16 + metaLength };
}

export function encodeSnapshotTrailer(dataBytes: number, dataCrc: number): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, dataBytes % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(dataBytes / 0x1_0000_0000), true);
  view.setUint32(8, dataCrc, true);
  out.set(SNAPSHOT_END_MAGIC, 16);
  return out;
}

export function decodeSnapshotTrailer(bytes: Uint8Array, what: string): { dataBytes: number; dataCrc: number } {
  assert(bytes.length === SNAPSHOT_TRAILER_BYTES, 'trailer length');
  for (let i = 0; i < 8; i++) {
    if (bytes[16 + i] !== SNAPSHOT_END_MAGIC[i]) throw new CorruptionError(`snapshot ${what}: missing end magic (incomplete file)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataBytes = view.getUint32(4, true) * 0x1_0000_0000 + view.getUint32(0, true);
  if (!Number.isSafeInteger(dataBytes)) throw new CorruptionError(`snapshot ${what}: data length invalid`);
  return { dataBytes, dataCrc: view.getUint32(8, true) };
}

/** `<index>-<term>.snap`, 16 hex digits each, so names sort by index. */
export function snapshotFileName(meta: { index: number; term: number }): string {
  return `${meta.index.toString(16).padStart(16, '0')}-${meta.term.toString(16).padStart(16, '0')}.snap`;
}

const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function parseSnapshotFileName(file: string): { index: number; term: number } | undefined {
  const m = NAME_RE.exec(file);
  if (!m) return undefined;
  return { index: parseInt(m[1]!, 16), term: parseInt(m[2]!, 16) };
}
