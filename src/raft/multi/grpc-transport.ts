/**
 * The process-wide gRPC transport for all Raft groups (multi-raft, DESIGN
 * §10): one server, one client channel per peer process, messages to the
 * same peer batched into one MessageBatch per event-loop turn and written
 * back to back on one long-lived client stream (`Stream`), idle heartbeats
 * coalesced (peer-queue.ts), snapshots streamed by `InstallSnapshot` in
 * CRC'd chunks. (The unary `Send` is still served, for simple senders.)
 *
 * Node ids are peer addresses ("host:port") unless `resolve` maps them.
 * Flow control: HTTP/2 backpressure. When the stream's write buffer is full
 * the peer is "blocked" and new messages accumulate into the next batch
 * (the busier the peer, the bigger the batches) until 'drain'. When the
 * stream fails, its (group, peer) pairs are reported unreachable and the
 * next flush opens a new stream; Raft retransmits what was lost.
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { assert } from '../../common/assert.js';
import type { Message } from '../core/messages.js';
import { MessageType } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { MalformedMessage, raftTransportService } from '../../proto/index.js';
import type {
  GroupMessages,
  InstallSnapshotResponse,
  MessageBatch,
  SendResponse,
  SnapshotChunk,
  WireMessage,
} from '../../proto/types-raft.js';
import { setServerNoDelay } from '../../rpc/server-nodelay.js';
import { crc32c } from '../wal/crc32c.js';
import { groupId, parseGroupId } from './group-id.js';
import type { GroupId } from './group-id.js';
import { PeerQueue } from './peer-queue.js';
import type {
  GroupMessage,
  MessageHandler,
  SnapshotChunkIn,
  SnapshotHandler,
  Transport,
  UnreachableHandler,
} from './transport.js';
import { messageFromWire, messageToWire, snapshotMetaFromWire, snapshotMetaToWire, WireDecodeError } from './wire-codec.js';

export interface GrpcTransportOptions {
  /** "host:port" to listen on; port 0 picks a free port. */
  readonly listenAddress: string;
  /** This node's id; defaults to the bound "host:port". */
  readonly localId?: NodeId;
  /** Maps a node id to the address to dial; defaults to the id itself. */
  readonly resolve?: (id: NodeId) => string;
  readonly queuedMessagesMax?: number;
  readonly snapshotChunkBytes?: number;
  readonly snapshotTimeoutMs?: number;
}

export interface GrpcTransportStats {
  readonly rpcsSent: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly rpcFailures: number;
  readonly messagesDropped: number;
  readonly malformed: number;
}

const MESSAGE_BYTES_MAX = 256 * 1024 * 1024;
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

interface Peer {
  readonly address: string;
  readonly client: grpc.Client;
  readonly queue: PeerQueue;
  stream: grpc.ClientWritableStream<MessageBatch> | null;
  /** (group|node) pairs sent on the current stream, reported unreachable if it fails. */
  readonly sentOnStream: Map<string, { groupId: GroupId; to: NodeId }>;
  isBlocked: boolean;
  isScheduled: boolean;
}

export class GrpcTransport implements Transport {
  private id: NodeId;
  private boundPort: number;
  private readonly peers = new Map<string, Peer>();
  private messageHandler: MessageHandler = () => undefined;
  private unreachableHandler: UnreachableHandler = () => undefined;
  private snapshotHandler: SnapshotHandler | null = null;
  private readonly resolve: (id: NodeId) => string;
  private readonly queuedMax: number;
  private readonly chunkBytes: number;
  private readonly snapshotTimeoutMs: number;
  private isClosed = false;
  private counters = { rpcsSent: 0, messagesSent: 0, messagesReceived: 0, rpcFailures: 0, messagesDropped: 0, malformed: 0 };
  private readonly service = raftTransportService().definition;

  private constructor(
    private readonly server: grpc.Server,
    private readonly ownsServer: boolean,
    localId: NodeId,
    port: number,
    options: Omit<GrpcTransportOptions, 'listenAddress'>,
  ) {
    this.boundPort = port;
    this.id = localId;
    this.resolve = options.resolve ?? ((id) => id);
    this.queuedMax = options.queuedMessagesMax ?? 20_000;
    this.chunkBytes = options.snapshotChunkBytes ?? 1024 * 1024;
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 600_000;
    server.addService(raftTransportService().definition, {
      Send: (call: grpc.ServerUnaryCall<MessageBatch | MalformedMessage, SendResponse>, callback: grpc.sendUnaryData<SendResponse>) => {
        this.handleSend(call.request, callback);
      },
      Stream: (call: grpc.ServerReadableStream<MessageBatch | MalformedMessage, SendResponse>, callback: grpc.sendUnaryData<SendResponse>) => {
        call.on('data', (batch: MessageBatch | MalformedMessage) => this.deliver(batch));
        call.on('end', () => callback(null, { unknownGroups: [] }));
        call.on('error', () => undefined);
      },
      InstallSnapshot: (
        call: grpc.ServerReadableStream<SnapshotChunk | MalformedMessage, InstallSnapshotResponse>,
        callback: grpc.sendUnaryData<InstallSnapshotResponse>,
      ) => {
        this.handleInstallSnapshot(call, callback);
      },
    });
  }

  /** A transport with its own gRPC server listening on `options.listenAddress`. */
  static async start(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const server = new grpc.Server(CHANNEL_OPTIONS);
    // The service is added before binding; the default id needs the bound port.
    const transport = new GrpcTransport(server, true, options.localId ?? '', 0, options);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(options.listenAddress, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    tuneServerSockets(server);
    const host = options.listenAddress.slice(0, options.listenAddress.lastIndexOf(':'));
    transport.id = options.localId ?? `${host}:${port}`;
    transport.boundPort = port;
    return transport;
  }

  get localId(): NodeId {
    return this.id;
  }

  /** The bound port when this transport owns its server (start()); 0 with attach(). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Adds the RaftTransport service to a server the caller owns (e.g. the
   * metaserver's, so Raft and the metadata service share one port). Call
   * before the caller binds it, and `tuneServerSockets(server)` after.
   * close() then leaves the server alone.
   */
  static attach(server: grpc.Server, options: Omit<GrpcTransportOptions, 'listenAddress'> & { readonly localId: NodeId }): GrpcTransport {
    return new GrpcTransport(server, false, options.localId, 0, options);
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: UnreachableHandler): void {
    this.unreachableHandler = handler;
  }

  onSnapshot(handler: SnapshotHandler): void {
    this.snapshotHandler = handler;
  }

  stats(): GrpcTransportStats {
    let dropped = this.counters.messagesDropped;
    for (const p of this.peers.values()) dropped += p.queue.dropped;
    return { ...this.counters, messagesDropped: dropped };
  }

  send(messages: readonly GroupMessage[]): void {
    if (this.isClosed) return;
    for (const gm of messages) {
      const peer = this.peerFor(gm.message.to);
      if (!peer.queue.push(gm)) {
        this.unreachableHandler(gm.groupId, gm.message.to);
        continue;
      }
      if (!peer.isScheduled && !peer.isBlocked) {
        peer.isScheduled = true;
        // Everything sent during this turn joins the batch.
        setImmediate(() => this.flush(peer));
      }
    }
  }

  private peerFor(id: NodeId): Peer {
    const address = this.resolve(id);
    let peer = this.peers.get(address);
    if (peer === undefined) {
      const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      peer = { address, client, queue: new PeerQueue(this.queuedMax), stream: null, sentOnStream: new Map(), isBlocked: false, isScheduled: false };
      this.peers.set(address, peer);
    }
    return peer;
  }

  private flush(peer: Peer): void {
    peer.isScheduled = false;
    if (this.isClosed || peer.queue.length === 0 || peer.isBlocked) return;
    const messages = peer.queue.drain();
    const stream = peer.stream ?? this.openStream(peer);
    const byGroup = new Map<GroupId, WireMessage[]>();
    for (const gm of messages) {
      let list = byGroup.get(gm.groupId);
      if (list === undefined) byGroup.set(gm.groupId, (list = []));
      list.push(messageToWire(gm.message));
      const key = `${gm.groupId}|${gm.message.to}`;
      if (!peer.sentOnStream.has(key)) peer.sentOnStream.set(key, { groupId: gm.groupId, to: gm.message.to });
    }
    const groups: GroupMessages[] = [];
    for (const [id, list] of byGroup) {
      const { poolId, copysetId } = parseGroupId(id);
      groups.push({ poolId, copysetId, messages: list });
    }
    this.counters.rpcsSent++;
    this.counters.messagesSent += messages.length;
    if (!stream.write({ fromAddress: this.localId, groups })) {
      peer.isBlocked = true;
      stream.once('drain', () => {
        peer.isBlocked = false;
        this.scheduleFlush(peer);
      });
    }
  }

  private scheduleFlush(peer: Peer): void {
    if (peer.isScheduled || peer.isBlocked || peer.queue.length === 0) return;
    peer.isScheduled = true;
    setImmediate(() => this.flush(peer));
  }

  private openStream(peer: Peer): grpc.ClientWritableStream<MessageBatch> {
    const method = this.service['Stream']!;
    const stream = peer.client.makeClientStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
      {},
      (err: grpc.ServiceError | null) => {
        if (peer.stream === stream) {
          peer.stream = null;
          peer.isBlocked = false;
        }
        if (err && !this.isClosed) {
          this.counters.rpcFailures++;
          const lost = [...peer.sentOnStream.values()];
          peer.sentOnStream.clear();
          for (const { groupId: g, to } of lost) this.unreachableHandler(g, to);
        }
        this.scheduleFlush(peer);
      },
    ) as grpc.ClientWritableStream<MessageBatch>;
    // Failures arrive through the callback above; keep 'error' from being unhandled.
    stream.on('error', () => undefined);
    peer.stream = stream;
    peer.sentOnStream.clear();
    return stream;
  }

  private handleSend(request: MessageBatch | MalformedMessage, callback: grpc.sendUnaryData<SendResponse>): void {
    if (request instanceof MalformedMessage) {
      this.counters.malformed++;
      callback({ code: grpc.status.INVALID_ARGUMENT, details: request.reason });
      return;
    }
    // Reply first: the handler's work must not hold the sender's RPC.
    callback(null, { unknownGroups: [] });
    this.deliver(request);
  }

  /** Decodes a batch from a peer and hands it to the message handler. */
  private deliver(request: MessageBatch | MalformedMessage): void {
    if (request instanceof MalformedMessage) {
      this.counters.malformed++;
      return;
    }
    const delivered: GroupMessage[] = [];
    for (const g of request.groups) {
      const id = groupId(g.poolId, g.copysetId);
      for (const w of g.messages) {
        try {
          delivered.push({ groupId: id, message: messageFromWire(w) });
        } catch (e) {
          if (!(e instanceof WireDecodeError)) throw e;
          this.counters.malformed++;
        }
      }
    }
    this.counters.messagesReceived += delivered.length;
    if (delivered.length > 0) this.messageHandler(delivered);
  }

  private handleInstallSnapshot(
    call: grpc.ServerReadableStream<SnapshotChunk | MalformedMessage, InstallSnapshotResponse>,
    callback: grpc.sendUnaryData<InstallSnapshotResponse>,
  ): void {
    const run = async (): Promise<InstallSnapshotResponse> => {
      const handler = this.snapshotHandler;
      if (handler === null) return { accepted: false, receivedBytes: 0, error: 'no snapshot handler' };
      const it = (call as AsyncIterable<SnapshotChunk | MalformedMessage>)[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done === true) return { accepted: false, receivedBytes: 0, error: 'empty snapshot stream' };
      const head = first.value;
      if (head instanceof MalformedMessage) return { accepted: false, receivedBytes: 0, error: head.reason };
      if (head.meta === null) return { accepted: false, receivedBytes: 0, error: 'first chunk without meta' };
      const meta = snapshotMetaFromWire(head.meta);
      const message: Message = {
        type: MessageType.MsgSnap,
        to: head.to,
        from: head.from,
        term: head.term,
        logTerm: meta.term,
        index: meta.index,
        entries: [],
        commit: 0,
        reject: false,
        rejectHint: 0,
        snapshot: meta,
        context: new Uint8Array(0),
      };
      async function* chunks(): AsyncGenerator<SnapshotChunkIn> {
        let chunk: SnapshotChunk | MalformedMessage = head;
        // Bounded by the stream: each round consumes one chunk.
        for (;;) {
          if (chunk instanceof MalformedMessage) throw new Error(chunk.reason);
          if (crc32c(chunk.data) !== chunk.crc32c) throw new Error(`snapshot chunk at ${chunk.offset}: crc mismatch`);
          if (chunk.data.length > 0) yield { offset: chunk.offset, data: chunk.data };
          if (chunk.done) return;
          const next = await it.next();
          if (next.done === true) throw new Error('snapshot stream ended before its last chunk');
          chunk = next.value;
        }
      }
      const result = await handler(groupId(head.poolId, head.copysetId), message, chunks());
      return { accepted: result.accepted, receivedBytes: result.receivedBytes, error: result.error ?? '' };
    };
    run().then(
      (response) => callback(null, response),
      (e: unknown) => callback(null, { accepted: false, receivedBytes: 0, error: e instanceof Error ? e.message : String(e) }),
    );
  }

  async sendSnapshot(id: GroupId, message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    assert(message.type === MessageType.MsgSnap && message.snapshot !== null, 'sendSnapshot needs a MsgSnap');
    const peer = this.peerFor(message.to);
    const method = this.service['InstallSnapshot']!;
    const { poolId, copysetId } = parseGroupId(id);
    let settle!: (r: { err: grpc.ServiceError | null; response?: InstallSnapshotResponse }) => void;
    const done = new Promise<{ err: grpc.ServiceError | null; response?: InstallSnapshotResponse }>((r) => (settle = r));
    const stream = peer.client.makeClientStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
      { deadline: Date.now() + this.snapshotTimeoutMs },
      (err: grpc.ServiceError | null, response?: unknown) =>
        settle({ err, response: response as InstallSnapshotResponse | undefined }),
    );
    const base = {
      poolId,
      copysetId,
      from: message.from,
      to: message.to,
      term: message.term,
    };
    let offset = 0;
    let isFirst = true;
    const write = async (data: Uint8Array, isLast: boolean): Promise<void> => {
      const chunk: SnapshotChunk = {
        ...base,
        meta: isFirst ? snapshotMetaToWire(message.snapshot!) : null,
        offset,
        data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        done: isLast,
        crc32c: crc32c(data),
      };
      isFirst = false;
      offset += data.length;
      if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), done]);
    };
    try {
      for await (const piece of chunks) {
        for (let at = 0; at < piece.length; at += this.chunkBytes) {
          await write(piece.subarray(at, Math.min(piece.length, at + this.chunkBytes)), false);
        }
      }
      await write(new Uint8Array(0), true);
      stream.end();
    } catch (e) {
      stream.cancel();
      throw e;
    }
    const { err, response } = await done;
    if (err) throw err;
    if (response === undefined || !response.accepted) {
      throw new Error(`snapshot to ${message.to} refused: ${response?.error ?? 'no response'}`);
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const p of this.peers.values()) {
      p.stream?.end();
      p.client.close();
    }
    this.peers.clear();
    if (!this.ownsServer) return;
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
      // A peer mid-RPC must not hold the shutdown forever.
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000).unref();
    });
  }
}

/** NODELAY on every socket the server accepts (src/rpc/server-nodelay.ts); call after binding. */
export function tuneServerSockets(server: grpc.Server): void {
  setServerNoDelay(server);
}
