/**
 * Converts Raft core messages to the raft.proto wire shapes and back. The
 * wire side is decoded by protobufjs (src/proto); this module checks what
 * the core relies on (known message type, safe integers, snapshot meta on
 * MsgSnap) so a malformed message is refused at the edge, not in the core.
 */
import type { Message } from '../core/messages.js';
import { MESSAGE_TYPE_COUNT, isLocalMessage, MessageType } from '../core/messages.js';
import type { ConfState, Entry, SnapshotMeta } from '../core/types.js';
import { EntryType } from '../core/types.js';
import type { WireConfState, WireEntry, WireMessage, WireSnapshotMeta } from '../../proto/types-raft.js';

const EMPTY = Buffer.alloc(0);

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function confStateToWire(cs: ConfState): WireConfState {
  return {
    voters: [...cs.voters],
    votersOutgoing: [...cs.votersOutgoing],
    learners: [...cs.learners],
    learnersNext: [...(cs.learnersNext ?? [])],
    autoLeave: cs.autoLeave ?? false,
  };
}

export function snapshotMetaToWire(m: SnapshotMeta): WireSnapshotMeta {
  return { index: m.index, term: m.term, confState: confStateToWire(m.confState) };
}

export function snapshotMetaFromWire(m: WireSnapshotMeta): SnapshotMeta {
  const cs = m.confState;
  const confState: { -readonly [K in keyof ConfState]: ConfState[K] } = {
    voters: cs?.voters ?? [],
    votersOutgoing: cs?.votersOutgoing ?? [],
    learners: cs?.learners ?? [],
  };
  // Absent on the wire = unset, so a plain config round-trips exactly.
  if (cs !== null && cs.learnersNext.length > 0) confState.learnersNext = cs.learnersNext;
  if (cs !== null && cs.autoLeave) confState.autoLeave = true;
  return { index: m.index, term: m.term, confState };
}

export function messageToWire(m: Message): WireMessage {
  const entries: WireEntry[] = new Array<WireEntry>(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    entries[i] = { term: e.term, index: e.index, type: e.type, data: toBuffer(e.data) };
  }
  return {
    type: m.type as number,
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries,
    commit: m.commit,
    snapshot: m.snapshot === null ? null : snapshotMetaToWire(m.snapshot),
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context.length === 0 ? EMPTY : toBuffer(m.context),
  };
}

export class WireDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireDecodeError';
  }
}

/** Decodes a message that arrived from a peer; throws WireDecodeError if it cannot be a valid one. */
export function messageFromWire(w: WireMessage): Message {
  const type = w.type as number;
  if (!Number.isInteger(type) || type < 0 || type >= MESSAGE_TYPE_COUNT) throw new WireDecodeError(`unknown message type ${type}`);
  if (isLocalMessage(type as MessageType)) throw new WireDecodeError(`local message type ${MessageType[type]} from the network`);
  if (type === MessageType.MsgSnap && w.snapshot === null) throw new WireDecodeError('MsgSnap without snapshot meta');
  const entries: Entry[] = new Array<Entry>(w.entries.length);
  for (let i = 0; i < w.entries.length; i++) {
    const e = w.entries[i]!;
    if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange) throw new WireDecodeError(`unknown entry type ${e.type}`);
    entries[i] = { term: e.term, index: e.index, type: e.type, data: e.data };
  }
  return {
    type: type as MessageType,
    to: w.to,
    from: w.from,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries,
    commit: w.commit,
    reject: w.reject,
    rejectHint: w.rejectHint,
    snapshot: w.snapshot === null ? null : snapshotMetaFromWire(w.snapshot),
    context: w.context,
  };
}
