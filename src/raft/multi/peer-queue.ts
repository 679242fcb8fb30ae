/**
 * The outgoing queue to one peer process: messages of every group bound for
 * that peer wait here and leave together as one MessageBatch.
 *
 * - Batching: everything enqueued in one event-loop turn, plus everything
 *   enqueued while the RPCs in flight are at their cap, goes in one batch.
 * - Heartbeat coalescing: a queued MsgHeartbeat / MsgHeartbeatResp (without a
 *   read-index context) for the same group and node is replaced by a newer
 *   one, so an idle group costs one small message per peer per round, and a
 *   slow peer never accumulates stale heartbeats.
 * - Bounded: beyond `queuedMax` messages new ones are dropped (Raft
 *   retransmits) and reported as unreachable.
 */
import { assert } from '../../common/assert.js';
import { MessageType } from '../core/messages.js';
import type { GroupMessage } from './transport.js';

export class PeerQueue {
  private queue: (GroupMessage | null)[] = [];
  private heartbeatSlots = new Map<string, number>();
  private live = 0;
  dropped = 0;

  constructor(private readonly queuedMax: number) {
    assert(queuedMax > 0, 'peer queue bound must be positive');
  }

  get length(): number {
    return this.live;
  }

  /** Returns false when the message was dropped because the queue is full. */
  push(gm: GroupMessage): boolean {
    const m = gm.message;
    const isHeartbeat =
      (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp) && m.context.length === 0;
    if (isHeartbeat) {
      const key = `${gm.groupId}|${m.to}|${m.from}|${m.type}`;
      const slot = this.heartbeatSlots.get(key);
      if (slot !== undefined) {
        this.queue[slot] = gm;
        return true;
      }
      if (this.live >= this.queuedMax) {
        this.dropped++;
        return false;
      }
      this.heartbeatSlots.set(key, this.queue.length);
    } else if (this.live >= this.queuedMax) {
      this.dropped++;
      return false;
    }
    this.queue.push(gm);
    this.live++;
    return true;
  }

  /** Takes everything queued, in order. */
  drain(): GroupMessage[] {
    const out: GroupMessage[] = [];
    for (const gm of this.queue) if (gm !== null) out.push(gm);
    assert(out.length === this.live, 'peer queue count drifted');
    this.queue = [];
    this.heartbeatSlots.clear();
    this.live = 0;
    return out;
  }
}
