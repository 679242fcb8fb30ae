/**
 * The simulated network and clock: a seeded schedule that drops, delays,
 * duplicates and reorders messages and partitions nodes. Time is an integer
 * count of "units"; the simulator ticks Raft every few units.
 *
 * A MsgSnap travels with its snapshot data (the out-of-band stream a real
 * driver would send in chunks); when it is delivered or lost the sender is
 * told (reportSnapshot), as a driver learns the fate of its stream.
 */
import { assert } from '../../src/common/assert.js';
import type { Random } from '../../src/common/random.js';
import { type Message, MessageType } from '../../src/raft/core/messages.js';
import type { NodeId } from '../../src/raft/core/types.js';

export class SimClock {
  now = 0;
  advance(): void {
    this.now++;
  }
}

export interface NetworkFaults {
  /** Probability a message is lost. */
  dropRate: number;
  /** Probability a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay in units, uniform in [delayMin, delayMax]: random delays reorder. */
  delayMin: number;
  delayMax: number;
}

export interface InFlight {
  readonly deliverAt: number;
  readonly seq: number;
  readonly msg: Message;
  readonly snapshotData?: Uint8Array;
}

export const QUIET_NETWORK: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 2 };

/** A bound on messages in flight: a runaway sender is a bug, not something to simulate. */
const IN_FLIGHT_MAX = 200_000;

export class SimNetwork {
  private inFlight: InFlight[] = [];
  private seq = 0;
  /** node -> partition group; nodes in different groups cannot talk. */
  private readonly group = new Map<NodeId, number>();
  faults: NetworkFaults;
  stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly random: Random,
    private readonly clock: SimClock,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  canTalk(a: NodeId, b: NodeId): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }

  /** Splits nodes into groups (each node's group number); others default to group 0. */
  partition(groups: ReadonlyMap<NodeId, number>): void {
    this.group.clear();
    for (const [id, g] of groups) this.group.set(id, g);
  }

  heal(): void {
    this.group.clear();
  }

  isPartitioned(): boolean {
    return this.group.size > 0;
  }

  send(msg: Message, snapshotData?: Uint8Array): 'queued' | 'dropped' {
    this.stats.sent++;
    if (!this.canTalk(msg.from, msg.to) || this.random.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return 'dropped';
    }
    const copies = this.random.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const span = this.faults.delayMax - this.faults.delayMin + 1;
      const deliverAt = this.clock.now + this.faults.delayMin + this.random.int(span);
      this.inFlight.push({ deliverAt, seq: this.seq++, msg, ...(snapshotData === undefined ? {} : { snapshotData }) });
    }
    assert(this.inFlight.length < IN_FLIGHT_MAX, 'sim-network: too many messages in flight');
    return 'queued';
  }

  /**
   * Messages due now, in a seeded random order; those whose link is cut
   * (partitioned after sending) are reported separately as lost.
   */
  due(): { deliver: InFlight[]; lost: InFlight[] } {
    const deliver: InFlight[] = [];
    const lost: InFlight[] = [];
    const keep: InFlight[] = [];
    for (const f of this.inFlight) {
      if (f.deliverAt > this.clock.now) keep.push(f);
      else if (this.canTalk(f.msg.from, f.msg.to)) deliver.push(f);
      else lost.push(f);
    }
    this.inFlight = keep;
    // Fisher-Yates with the seeded source: reordering among simultaneous arrivals.
    for (let i = deliver.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [deliver[i], deliver[j]] = [deliver[j]!, deliver[i]!];
    }
    this.stats.delivered += deliver.length;
    this.stats.dropped += lost.length;
    return { deliver, lost };
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  isSnapshot(f: InFlight): boolean {
    return f.msg.type === MessageType.MsgSnap;
  }
}
