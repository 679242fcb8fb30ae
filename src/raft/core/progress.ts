/**
 * What the leader knows about one follower's log (etcd's tracker.Progress).
 *
 *                          +----------------------------------------+
 *                          |  reject / unreachable                  |
 *                          v                                        |
 *   (new) --> StateProbe --ack--> StateReplicate ------------------+
 *                 |  ^                                               
 *   log compacted |  | snapshot acked / failed                       
 *                 v  |                                               
 *             StateSnapshot                                          
 *
 * - Probe: one MsgApp at a time until the follower's match is found
 *   (`probeSent` pauses further sends until a response or heartbeat).
 * - Replicate: optimistic pipelining; `next` runs ahead of `match` and the
 *   Inflights window bounds what is outstanding (flow control).
 * - Snapshot: waiting for a snapshot to be installed; nothing else is sent.
 *
 * Invariant: match < next.
 */
import { assert } from '../../common/assert.js';
import { Inflights } from './inflights.js';

export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

export class Progress {
  match: number;
  next: number;
  state = ProgressState.Probe;
  /** In StateSnapshot: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from within the current election timeout (check-quorum). */
  recentActive: boolean;
  /** The latest leader tick this follower echoed in a heartbeat response (lease). */
  leaseAckTick = -1;
  /** In StateProbe: a MsgApp is outstanding, so wait. */
  probeSent = false;
  isLearner: boolean;
  inflights: Inflights;

  constructor(init: { match: number; next: number; inflights: Inflights; isLearner: boolean; recentActive: boolean }) {
    this.match = init.match;
    this.next = init.next;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner;
    this.recentActive = init.recentActive;
    assert(this.match < this.next, 'progress: match must be below next');
  }

  clone(): Progress {
    const p = new Progress({
      match: this.match,
      next: this.next,
      inflights: this.inflights.clone(),
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    });
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.probeSent = this.probeSent;
    p.leaseAckTick = this.leaseAckTick;
    return p;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // After a snapshot the follower holds at least the snapshot's index.
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to n: returns true if match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Pipelining: assume the MsgApp ending at n will succeed. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejection of the MsgApp at `rejected`; `matchHint` is where the
   * follower suggests the logs may agree. Returns false for stale rejects.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // A reject of something already matched is a stale (reordered) message.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the reply to the outstanding probe counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.isFull();
      case ProgressState.Snapshot:
        return true;
    }
  }

  describe(): string {
    return `${ProgressState[this.state]} match=${this.match} next=${this.next}${this.isLearner ? ' learner' : ''}`;
  }
}
