/**
 * WAL record framing and payload codecs. Pure: bytes in, values out.
 *
 * A record on disk:
 *
 *   offset 0  u32 LE  payloadLength
 *   offset 4  u32 LE  crc32c over [type byte + payload]
 *   offset 8  u8      type (RecordType)
 *   offset 9  payload (payloadLength bytes)
 *
 * Segment files are preallocated with zeros (see wal.ts); a scan ends
 * cleanly at a zero tail. No record has an empty payload, so a length of 0
 * never starts a real record.
 *
 * The CRC covers the type so a flipped type byte is caught. The length is not
 * covered by the CRC; a corrupt length is caught because it either runs past
 * the end of the file (torn) or frames bytes whose CRC does not match.
 */
import { assert } from '../../common/assert.js';
import type { ConfState, Entry, HardState, SnapshotMeta } from '../core/types.js';
import { EntryType } from '../core/types.js';
import { crc32c } from './crc32c.js';

export const RECORD_HEADER_BYTES = 9;
/** No record may be larger than this; a length above it is corruption, not a huge entry. */
export const RECORD_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;

export enum RecordType {
  Entry = 1,
  HardState = 2,
  /** The log is compacted up to (index, term); carries the snapshot's ConfState. */
  Snapshot = 3,
}

export type WalRecord =
  | { readonly type: RecordType.Entry; readonly entry: Entry }
  | { readonly type: RecordType.HardState; readonly hardState: HardState }
  | { readonly type: RecordType.Snapshot; readonly snapshot: SnapshotMeta };

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function writeU64(view: DataView, offset: number, n: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, `u64 field not a safe uint: ${n}`);
  view.setUint32(offset, n % 0x1_0000_0000, true);
  view.setUint32(offset + 4, Math.floor(n / 0x1_0000_0000), true);
}

function readU64(view: DataView, offset: number): number {
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  const n = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(n)) throw new RecordDecodeError(`u64 field exceeds 2^53: hi=${hi}`);
  return n;
}

/** A payload framed by a valid CRC that still does not decode: a bug or a foreign file. */
export class RecordDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordDecodeError';
  }
}

function encodePayload(record: WalRecord): Uint8Array {
  switch (record.type) {
    case RecordType.Entry: {
      const e = record.entry;
      const out = new Uint8Array(17 + e.data.length);
      const view = new DataView(out.buffer);
      writeU64(view, 0, e.index);
      writeU64(view, 8, e.term);
      out[16] = e.type;
      out.set(e.data, 17);
      return out;
    }
    case RecordType.HardState: {
      const hs = record.hardState;
      const vote = textEncoder.encode(hs.vote);
      const out = new Uint8Array(16 + vote.length);
      const view = new DataView(out.buffer);
      writeU64(view, 0, hs.term);
      writeU64(view, 8, hs.commit);
      out.set(vote, 16);
      return out;
    }
    case RecordType.Snapshot: {
      const s = record.snapshot;
      const conf = encodeConfState(s.confState);
      const out = new Uint8Array(16 + conf.length);
      const view = new DataView(out.buffer);
      writeU64(view, 0, s.index);
      writeU64(view, 8, s.term);
      out.set(conf, 16);
      return out;
    }
  }
}

function decodeStringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new RecordDecodeError(`snapshot record: ${what} is not a string list`);
  }
  return v as string[];
}

export function decodeConfState(bytes: Uint8Array): ConfState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(bytes));
  } catch (e) {
    throw new RecordDecodeError(`snapshot record: conf state is not JSON: ${String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new RecordDecodeError('snapshot record: conf state is not an object');
  const o = parsed as Record<string, unknown>;
  const cs: { -readonly [K in keyof ConfState]: ConfState[K] } = {
    voters: decodeStringList(o['v'], 'voters'),
    votersOutgoing: decodeStringList(o['o'], 'votersOutgoing'),
    learners: decodeStringList(o['l'], 'learners'),
  };
  // Optional joint-config fields are written only when set, so plain configs round-trip exactly.
  if (o['n'] !== undefined) cs.learnersNext = decodeStringList(o['n'], 'learnersNext');
  if (o['a'] !== undefined) {
    if (typeof o['a'] !== 'boolean') throw new RecordDecodeError('snapshot record: autoLeave is not a boolean');
    cs.autoLeave = o['a'];
  }
  return cs;
}

export function encodeConfState(cs: ConfState): Uint8Array {
  const o: Record<string, unknown> = { v: cs.voters, o: cs.votersOutgoing, l: cs.learners };
  if (cs.learnersNext !== undefined) o['n'] = cs.learnersNext;
  if (cs.autoLeave !== undefined) o['a'] = cs.autoLeave;
  return textEncoder.encode(JSON.stringify(o));
}

function decodePayload(type: number, payload: Uint8Array): WalRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  switch (type) {
    case RecordType.Entry: {
      if (payload.length < 17) throw new RecordDecodeError(`entry record too short: ${payload.length}`);
      const entryType = payload[16]!;
      if (entryType !== EntryType.Normal && entryType !== EntryType.ConfChange) {
        throw new RecordDecodeError(`entry record: unknown entry type ${entryType}`);
      }
      const entry: Entry = {
        index: readU64(view, 0),
        term: readU64(view, 8),
        type: entryType,
        data: payload.slice(17),
      };
      return { type: RecordType.Entry, entry };
    }
    case RecordType.HardState: {
      if (payload.length < 16) throw new RecordDecodeError(`hard state record too short: ${payload.length}`);
      const hardState: HardState = {
        term: readU64(view, 0),
        commit: readU64(view, 8),
        vote: textDecoder.decode(payload.subarray(16)),
      };
      return { type: RecordType.HardState, hardState };
    }
    case RecordType.Snapshot: {
      if (payload.length < 16) throw new RecordDecodeError(`snapshot record too short: ${payload.length}`);
      const snapshot: SnapshotMeta = {
        index: readU64(view, 0),
        term: readU64(view, 8),
        confState: decodeConfState(payload.subarray(16)),
      };
      return { type: RecordType.Snapshot, snapshot };
    }
    default:
      throw new RecordDecodeError(`unknown record type ${type}`);
  }
}

/** The framed bytes of one record. */
export function encodeRecord(record: WalRecord): Uint8Array {
  const payload = encodePayload(record);
  assert(payload.length <= RECORD_PAYLOAD_BYTES_MAX, `wal record too large: ${payload.length}`);
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  out[8] = record.type;
  out.set(payload, RECORD_HEADER_BYTES);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32c(out, 0, 8, out.length), true);
  return out;
}

/** Frames many records into one buffer (one write for a group commit). */
export function encodeRecords(records: readonly WalRecord[]): Uint8Array {
  const parts = records.map(encodeRecord);
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  assert(at === total, 'encodeRecords: length mismatch');
  return out;
}

export type ScanStop =
  /** Every byte was consumed by valid records (or is preallocated zeros after them). */
  | { readonly kind: 'clean' }
  /** The bytes from `offset` on do not form a complete record (a write cut short). */
  | { readonly kind: 'torn'; readonly offset: number; readonly reason: string }
  /** A complete-looking record at `offset` fails its CRC or does not decode. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string };

export interface ScanResult {
  readonly records: WalRecord[];
  /** Bytes [0, validBytes) are whole, verified records. */
  readonly validBytes: number;
  readonly stop: ScanStop;
}

/** True if bytes[from, end) are all zero (a preallocated, never written tail). */
function isZeroTail(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Decodes records from the start of `bytes` until the end or the first bad record. */
export function scanRecords(bytes: Uint8Array): ScanResult {
  const records: WalRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    // No record has an empty payload, so a zero length marks preallocated
    // space; it ends the log only if nothing after it was ever written.
    if (bytes[at] === 0 && isZeroTail(bytes, at)) {
      return { records, validBytes: at, stop: { kind: 'clean' } };
    }
    if (bytes.length - at < RECORD_HEADER_BYTES) {
      return { records, validBytes: at, stop: { kind: 'torn', offset: at, reason: 'partial record header' } };
    }
    const length = view.getUint32(at, true);
    const crc = view.getUint32(at + 4, true);
    if (length > RECORD_PAYLOAD_BYTES_MAX) {
      return { records, validBytes: at, stop: { kind: 'corrupt', offset: at, reason: `record length ${length} over limit` } };
    }
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > bytes.length) {
      return { records, validBytes: at, stop: { kind: 'torn', offset: at, reason: `record of ${length} bytes runs past end` } };
    }
    const actual = crc32c(bytes, 0, at + 8, end);
    if (actual !== crc) {
      return { records, validBytes: at, stop: { kind: 'corrupt', offset: at, reason: `crc mismatch (stored ${crc}, computed ${actual})` } };
    }
    try {
      records.push(decodePayload(bytes[at + 8]!, bytes.subarray(at + RECORD_HEADER_BYTES, end)));
    } catch (e) {
      if (!(e instanceof RecordDecodeError)) throw e;
      return { records, validBytes: at, stop: { kind: 'corrupt', offset: at, reason: e.message } };
    }
    at = end;
  }
  assert(at === bytes.length, 'scanRecords: overran buffer');
  return { records, validBytes: at, stop: { kind: 'clean' } };
}
