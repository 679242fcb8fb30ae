/**
 * Linearizable reads without log writes (Raft thesis §6.4, etcd's read_only.go).
 *
 * ReadIndex (Safe): the leader records its commit index for the request,
 * then confirms it is still leader by a heartbeat round carrying the
 * request's context; once a quorum acknowledges, every request queued up to
 * and including that one is answered with its recorded index. The reader
 * waits until its state machine has applied that index.
 *
 * LeaseBased: the leader answers at once, trusting that no other leader can
 * exist within its lease (check-quorum's election timeout). It depends on
 * bounded clock drift, so it is opt-in.
 */
import { assert } from '../../common/assert.js';
import type { Message } from './messages.js';
import type { NodeId } from './types.js';

export enum ReadOnlyOption {
  Safe = 0,
  LeaseBased = 1,
}

export interface ReadIndexStatus {
  readonly request: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** A map key for a request context (one char per byte). */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.byteLength; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Records a read request at the leader's commit index. Duplicates of a pending context are ignored. */
  addRequest(index: number, request: Message): void {
    const key = contextKey(request.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { request, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records a heartbeat ack for the request `ctx`; returns who has acked so far. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** The request `ctx` is confirmed: it and every request queued before it are released. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released: ReadIndexStatus[] = [];
    for (let i = 0; i <= at; i++) {
      const k = this.queue[i]!;
      const rs = this.pending.get(k);
      assert(rs !== undefined, 'read-only: queued request without status');
      released.push(rs);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(at + 1);
    return released;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.request.context;
  }

  get pendingCount(): number {
    return this.queue.length;
  }
}
