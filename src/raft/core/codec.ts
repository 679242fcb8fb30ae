/**
 * Binary encoding of Raft messages, entries and ConfChanges, so transports
 * and the log can ship and store them. Pure and synchronous.
 *
 * Layout (little-endian; u64 = two u32 halves, decoded as safe integers):
 *   message    := u8 version=1, u8 type, str to, str from, u64 term, u64 logTerm,
 *                 u64 index, u64 commit, u8 reject, u64 rejectHint,
 *                 u32 nEntries, entry*, u8 hasSnapshot, [snapshotMeta], bytes context
 *   entry      := u64 term, u64 index, u8 type, bytes data
 *   snapshotMeta := u64 index, u64 term, confState
 *   confState  := strs voters, strs votersOutgoing, strs learners, strs learnersNext, u8 autoLeave
 *   confChange := u8 version=1, u8 transition, u32 n, (u8 type, str nodeId)*, bytes context
 *   str        := u32 length, UTF-8 bytes;  bytes := u32 length, bytes;  strs := u32 n, str*
 *
 * Decoding validates every length and enum against the buffer, and throws
 * CorruptionError on anything malformed: input comes from the network.
 */
import { CorruptionError } from '../../common/errors.js';
import { MESSAGE_TYPE_COUNT, type Message, type MessageType } from './messages.js';
import {
  type ConfChange,
  type ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type SnapshotMeta,
} from './types.js';

const MESSAGE_VERSION = 1;
const CONF_CHANGE_VERSION = 1;
const TWO_32 = 0x1_0000_0000;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`codec: not a safe unsigned integer: ${v}`);
    this.u32(v % TWO_32);
    this.u32(Math.floor(v / TWO_32));
  }

  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  str(s: string): void {
    this.bytes(encoder.encode(s));
  }

  strs(list: readonly string[]): void {
    this.u32(list.length);
    for (const s of list) this.str(s);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.byteLength) {
      throw new CorruptionError(`raft codec: truncated ${what} at ${this.pos} (+${n} > ${this.buf.byteLength})`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what: string): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw new CorruptionError(`raft codec: ${what} is not a safe integer`);
    return v;
  }

  bytes(what: string): Uint8Array {
    const n = this.u32(what);
    this.need(n, what);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(what: string): string {
    try {
      return decoder.decode(this.bytes(what));
    } catch (err) {
      if (err instanceof CorruptionError) throw err;
      throw new CorruptionError(`raft codec: ${what} is not valid UTF-8`);
    }
  }

  strs(what: string): string[] {
    const n = this.u32(what);
    // Each string takes at least 4 bytes: refuse counts the buffer cannot hold.
    this.need(n * 4, what);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str(what));
    return out;
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new CorruptionError(`raft codec: ${what} is not a boolean`);
    return v === 1;
  }

  end(what: string): void {
    if (this.pos !== this.buf.byteLength) {
      throw new CorruptionError(`raft codec: ${this.buf.byteLength - this.pos} trailing bytes after ${what}`);
    }
  }
}

function writeConfState(w: Writer, cs: ConfState): void {
  w.strs(cs.voters);
  w.strs(cs.votersOutgoing);
  w.strs(cs.learners);
  w.strs(cs.learnersNext ?? []);
  w.u8(cs.autoLeave === true ? 1 : 0);
}

function readConfState(r: Reader): ConfState {
  return {
    voters: r.strs('voters'),
    votersOutgoing: r.strs('votersOutgoing'),
    learners: r.strs('learners'),
    learnersNext: r.strs('learnersNext'),
    autoLeave: r.bool('autoLeave'),
  };
}

function writeEntry(w: Writer, e: Entry): void {
  w.u64(e.term);
  w.u64(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.u64('entry term');
  const index = r.u64('entry index');
  const type = r.u8('entry type');
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) throw new CorruptionError(`raft codec: bad entry type ${type}`);
  return { term, index, type, data: r.bytes('entry data') };
}

function writeSnapshotMeta(w: Writer, s: SnapshotMeta): void {
  w.u64(s.index);
  w.u64(s.term);
  writeConfState(w, s.confState);
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  w.u8(MESSAGE_VERSION);
  w.u8(m.type);
  w.str(m.to);
  w.str(m.from);
  w.u64(m.term);
  w.u64(m.logTerm);
  w.u64(m.index);
  w.u64(m.commit);
  w.u8(m.reject ? 1 : 0);
  w.u64(m.rejectHint);
  w.u32(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot === null) {
    w.u8(0);
  } else {
    w.u8(1);
    writeSnapshotMeta(w, m.snapshot);
  }
  w.bytes(m.context);
  return w.finish();
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  const version = r.u8('version');
  if (version !== MESSAGE_VERSION) throw new CorruptionError(`raft codec: unknown message version ${version}`);
  const type = r.u8('type');
  if (type >= MESSAGE_TYPE_COUNT) throw new CorruptionError(`raft codec: unknown message type ${type}`);
  const to = r.str('to');
  const from = r.str('from');
  const term = r.u64('term');
  const logTerm = r.u64('logTerm');
  const index = r.u64('index');
  const commit = r.u64('commit');
  const reject = r.bool('reject');
  const rejectHint = r.u64('rejectHint');
  const n = r.u32('entry count');
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) entries.push(readEntry(r));
  let snapshot: SnapshotMeta | null = null;
  if (r.bool('hasSnapshot')) {
    const sIndex = r.u64('snapshot index');
    const sTerm = r.u64('snapshot term');
    snapshot = { index: sIndex, term: sTerm, confState: readConfState(r) };
  }
  const context = r.bytes('context');
  r.end('message');
  return {
    type: type as MessageType,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject,
    rejectHint,
    snapshot,
    context,
  };
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = new Writer();
  w.u8(CONF_CHANGE_VERSION);
  w.u8(cc.transition);
  w.u32(cc.changes.length);
  for (const c of cc.changes) {
    w.u8(c.type);
    w.str(c.nodeId);
  }
  w.bytes(cc.context);
  return w.finish();
}

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const r = new Reader(buf);
  const version = r.u8('version');
  if (version !== CONF_CHANGE_VERSION) throw new CorruptionError(`raft codec: unknown conf change version ${version}`);
  const transition = r.u8('transition');
  if (transition > ConfChangeTransition.JointExplicit) throw new CorruptionError(`raft codec: bad transition ${transition}`);
  const n = r.u32('change count');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.u8('change type');
    if (type > ConfChangeType.AddLearnerNode) throw new CorruptionError(`raft codec: bad change type ${type}`);
    changes.push({ type, nodeId: r.str('node id') });
  }
  const context = r.bytes('context');
  r.end('conf change');
  return { transition, changes, context };
}

/** Encodes a list of entries (e.g. for a WAL record or a snapshot stream header). */
export function encodeEntries(ents: readonly Entry[]): Uint8Array {
  const w = new Writer();
  w.u32(ents.length);
  for (const e of ents) writeEntry(w, e);
  return w.finish();
}

export function decodeEntries(buf: Uint8Array): Entry[] {
  const r = new Reader(buf);
  const n = r.u32('entry count');
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r));
  r.end('entries');
  return out;
}

export function encodeSnapshotMeta(s: SnapshotMeta): Uint8Array {
  const w = new Writer();
  writeSnapshotMeta(w, s);
  return w.finish();
}

export function decodeSnapshotMeta(buf: Uint8Array): SnapshotMeta {
  const r = new Reader(buf);
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const confState = readConfState(r);
  r.end('snapshot meta');
  return { index, term, confState };
}
