/**
 * The seam between Raft groups and the network. One Transport per process
 * carries the messages of every group it hosts; the gRPC implementation
 * (grpc-transport.ts), the in-process hub (local-transport.ts) and the
 * simulator's SimNetwork are interchangeable behind it.
 *
 * Contract:
 * - `send` is fire-and-forget and may lose, delay or reorder messages; Raft
 *   tolerates all three. It never throws for network reasons.
 * - Messages to the same peer sent in the same event-loop turn travel in one
 *   batch (one RPC); see the implementation for heartbeat coalescing.
 * - Snapshots (the bytes behind a MsgSnap) travel out of band as a chunk
 *   stream; the receiving side hands the whole stream to `onSnapshot`'s
 *   handler, which writes it to disk before stepping the MsgSnap.
 */
import type { Message } from '../core/messages.js';
import type { NodeId, SnapshotMeta } from '../core/types.js';
import type { GroupId } from './group-id.js';

export interface GroupMessage {
  readonly groupId: GroupId;
  readonly message: Message;
}

export interface SnapshotChunkIn {
  /** Byte offset of `data` within the snapshot data. */
  readonly offset: number;
  readonly data: Uint8Array;
}

export interface SnapshotReceiveResult {
  readonly accepted: boolean;
  /** Bytes of the data the receiver now holds (a retry may resume from here). */
  readonly receivedBytes: number;
  readonly error?: string;
}

/**
 * Receives an InstallSnapshot stream for `groupId`. `message` is the MsgSnap
 * (from, to, term, snapshot meta). The handler must consume `chunks` fully
 * (or throw) and resolve once the snapshot is durable.
 */
export type SnapshotHandler = (
  groupId: GroupId,
  message: Message,
  chunks: AsyncIterable<SnapshotChunkIn>,
) => Promise<SnapshotReceiveResult>;

export type MessageHandler = (messages: readonly GroupMessage[]) => void;

/** Called when messages for (group, peer) were dropped because the peer could not be reached. */
export type UnreachableHandler = (groupId: GroupId, to: NodeId) => void;

export interface Transport {
  /** This process's node id (the one used in `Message.from`). */
  readonly localId: NodeId;
  send(messages: readonly GroupMessage[]): void;
  onMessage(handler: MessageHandler): void;
  onUnreachable(handler: UnreachableHandler): void;
  /**
   * Streams snapshot data for `message` (a MsgSnap) to `message.to`.
   * Resolves when the receiver has it durably; rejects otherwise.
   */
  sendSnapshot(groupId: GroupId, message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  onSnapshot(handler: SnapshotHandler): void;
  close(): Promise<void>;
}

export function snapshotMetaOf(message: Message): SnapshotMeta {
  if (message.snapshot === null) throw new Error('MsgSnap without snapshot meta');
  return message.snapshot;
}
