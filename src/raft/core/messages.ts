/**
 * Raft messages, named as in etcd's raftpb so traces line up with etcd's.
 *
 * Messages come in request/response pairs (MsgApp/MsgAppResp,
 * MsgVote/MsgVoteResp, ...). A few are local: they never cross the network
 * and are produced by the node itself (MsgHup, MsgBeat, MsgCheckQuorum,
 * MsgUnreachable, MsgSnapStatus). `RawNode.step` refuses local types that
 * arrive from a transport.
 *
 * One flat record type keyed by `type` (as etcd's pb.Message) keeps the wire
 * codec and the hot path simple; which fields a type uses is listed below.
 */
import type { Entry, NodeId, SnapshotMeta } from './types.js';

export enum MessageType {
  /** Local: start an election. */
  MsgHup = 0,
  /** Local: leader sends heartbeats. */
  MsgBeat = 1,
  /** A proposal (entries) to append; followers forward it to the leader. */
  MsgProp = 2,
  /** Append entries: index/logTerm of the entry before `entries`, leader's commit. */
  MsgApp = 3,
  /** Reply to MsgApp/MsgSnap: index = last matching index, or on reject the rejected index with rejectHint/logTerm. */
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  /** Install a snapshot: `snapshot` carries the metadata; the bytes travel out of band (see RawNode docs). */
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  /** Local: the driver reports a peer could not be reached. */
  MsgUnreachable = 10,
  /** Local: the driver reports the outcome of sending a snapshot (reject = failed). */
  MsgSnapStatus = 11,
  /** Local: leader checks it heard from a quorum within an election timeout. */
  MsgCheckQuorum = 12,
  /** Ask the leader to hand leadership to `from`. */
  MsgTransferLeader = 13,
  /** Leader tells the transferee to campaign now, skipping pre-vote and leases. */
  MsgTimeoutNow = 14,
  /** A linearizable read request; `context` identifies it. */
  MsgReadIndex = 15,
  /** Answer to MsgReadIndex: `index` is the read index, `context` echoed. */
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export const MESSAGE_TYPE_COUNT = 19;

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  /** The sender's term; 0 for local messages and for MsgProp/MsgReadIndex (not term-checked). */
  readonly term: number;
  /** Term of the entry at `index` (MsgApp), of the candidate's last entry (votes), or the reject hint's term (MsgAppResp). */
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** On MsgAppResp rejects: the follower's guess of where the logs may match. */
  readonly rejectHint: number;
  /** MsgSnap only. */
  readonly snapshot: SnapshotMeta | null;
  /** Heartbeat/read-index request context; campaign type for transfer votes. */
  readonly context: Uint8Array;
}

/** A message whose type is known to be T (narrowed by a switch on `type`). */
export type MessageOf<T extends MessageType> = Message & { readonly type: T };

/** The discriminated union of all message types, for exhaustive switches. */
export type AnyMessage = { [T in MessageType]: MessageOf<T> }[MessageType];

const EMPTY_BYTES = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/** Builds a message with every unset field at its zero value (etcd's pb.Message{} literal). */
export function makeMessage(fields: Partial<Message> & { type: MessageType }): Message {
  return {
    to: '',
    from: '',
    term: 0,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: EMPTY_BYTES,
    ...fields,
  };
}

export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new Error(`not a vote message: ${MessageType[t]}`);
}

/** A short human-readable form for traces and failure reports. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} term=${m.term}`;
  if (m.logTerm !== 0 || m.index !== 0) s += ` log=${m.logTerm}/${m.index}`;
  if (m.commit !== 0) s += ` commit=${m.commit}`;
  if (m.entries.length > 0) s += ` entries=[${m.entries.map((e) => `${e.term}/${e.index}`).join(',')}]`;
  if (m.reject) s += ` rejected hint=${m.rejectHint}`;
  if (m.snapshot !== null) s += ` snap=${m.snapshot.term}/${m.snapshot.index}`;
  return s;
}
