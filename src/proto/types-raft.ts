/**
 * TypeScript shapes of raft.proto messages (decoding conventions:
 * types-common.ts). These are wire shapes; the raft transport converts them
 * to and from the core types in src/raft/core/types.ts.
 */
import type { MessageType } from '../raft/core/messages.js';
import type { Method } from './types-common.js';

/** raft.proto's message type numbers are the core's own (src/raft/core/messages.ts). */
export type WireMessageType = MessageType;

export interface WireEntry {
  term: number;
  index: number;
  type: number;
  data: Buffer;
}

export interface WireConfState {
  voters: string[];
  votersOutgoing: string[];
  learners: string[];
  learnersNext: string[];
  autoLeave: boolean;
}

export interface WireSnapshotMeta {
  index: number;
  term: number;
  confState: WireConfState | null;
}

export interface WireMessage {
  type: WireMessageType;
  to: string;
  from: string;
  term: number;
  logTerm: number;
  index: number;
  entries: WireEntry[];
  commit: number;
  snapshot: WireSnapshotMeta | null;
  reject: boolean;
  rejectHint: number;
  context: Buffer;
}

export interface GroupMessages {
  poolId: number;
  copysetId: number;
  messages: WireMessage[];
}

export interface MessageBatch {
  fromAddress: string;
  groups: GroupMessages[];
}

export interface SendResponse {
  unknownGroups: GroupMessages[];
}

export interface SnapshotChunk {
  poolId: number;
  copysetId: number;
  from: string;
  to: string;
  term: number;
  meta: WireSnapshotMeta | null;
  offset: number;
  data: Buffer;
  done: boolean;
  crc32c: number;
}

export interface InstallSnapshotResponse {
  accepted: boolean;
  receivedBytes: number;
  error: string;
}

/** Service `curvefs.raft.RaftTransport`. InstallSnapshot streams requests. */
export interface RaftTransportMethods {
  Send: Method<MessageBatch, SendResponse>;
  InstallSnapshot: Method<SnapshotChunk, InstallSnapshotResponse>;
  /** Client-streaming: batches back to back on one long-lived stream per peer. */
  Stream: Method<MessageBatch, SendResponse>;
}
