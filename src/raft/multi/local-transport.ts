/**
 * An in-process transport: several "processes" (node ids) in one Node.js
 * process exchange messages through a LocalHub, asynchronously (next turn),
 * batched per destination exactly like the gRPC transport. Used to run a
 * real RaftNode cluster in one test process, or a single-process embedded
 * deployment. Supports cutting a node off (isolate) to test failover.
 */
import { assert } from '../../common/assert.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import type { GroupId } from './group-id.js';
import type { GroupMessage, MessageHandler, SnapshotChunkIn, SnapshotHandler, Transport, UnreachableHandler } from './transport.js';

export class LocalHub {
  private readonly endpoints = new Map<NodeId, LocalTransport>();
  private readonly isolated = new Set<NodeId>();

  connect(id: NodeId): LocalTransport {
    assert(!this.endpoints.has(id), `local transport ${id} already connected`);
    const t = new LocalTransport(this, id);
    this.endpoints.set(id, t);
    return t;
  }

  disconnect(id: NodeId): void {
    this.endpoints.delete(id);
  }

  /** Drops all traffic to and from `id` until heal(). */
  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  heal(id: NodeId): void {
    this.isolated.delete(id);
  }

  /** The endpoint for `to` if traffic from `from` can reach it. */
  route(from: NodeId, to: NodeId): LocalTransport | undefined {
    if (this.isolated.has(from) || this.isolated.has(to)) return undefined;
    return this.endpoints.get(to);
  }
}

export class LocalTransport implements Transport {
  private messageHandler: MessageHandler = () => undefined;
  private unreachableHandler: UnreachableHandler = () => undefined;
  private snapshotHandler: SnapshotHandler | null = null;
  private outbox = new Map<NodeId, GroupMessage[]>();
  private isScheduled = false;
  private isClosed = false;

  constructor(
    private readonly hub: LocalHub,
    readonly localId: NodeId,
  ) {}

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }
  onUnreachable(handler: UnreachableHandler): void {
    this.unreachableHandler = handler;
  }
  onSnapshot(handler: SnapshotHandler): void {
    this.snapshotHandler = handler;
  }

  send(messages: readonly GroupMessage[]): void {
    if (this.isClosed) return;
    for (const gm of messages) {
      let list = this.outbox.get(gm.message.to);
      if (list === undefined) this.outbox.set(gm.message.to, (list = []));
      list.push(gm);
    }
    if (!this.isScheduled) {
      this.isScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.isScheduled = false;
    const outbox = this.outbox;
    this.outbox = new Map();
    for (const [to, list] of outbox) {
      const target = this.hub.route(this.localId, to);
      if (target === undefined) {
        for (const gm of list) this.unreachableHandler(gm.groupId, to);
        continue;
      }
      target.deliver(list);
    }
  }

  private deliver(list: GroupMessage[]): void {
    if (!this.isClosed) this.messageHandler(list);
  }

  async sendSnapshot(groupId: GroupId, message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const target = this.hub.route(this.localId, message.to);
    if (target === undefined || target.snapshotHandler === null) throw new Error(`snapshot: ${message.to} unreachable`);
    async function* framed(): AsyncGenerator<SnapshotChunkIn> {
      let offset = 0;
      for await (const data of chunks) {
        yield { offset, data };
        offset += data.length;
      }
    }
    const result = await target.snapshotHandler(groupId, message, framed());
    if (!result.accepted) throw new Error(`snapshot refused by ${message.to}: ${result.error ?? ''}`);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.hub.disconnect(this.localId);
  }
}
