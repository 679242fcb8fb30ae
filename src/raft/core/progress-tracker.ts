/**
 * The configuration (who votes, who learns) and the leader's view of every
 * member's progress, plus the votes of an election (etcd's tracker/).
 *
 * Invariants (checked by `assertConfigInvariants`):
 * - every voter (incoming or outgoing), learner and learnerNext has a Progress;
 * - learners and voters (incoming) are disjoint;
 * - learnersNext are exactly nodes that are outgoing voters and will become
 *   learners when the joint config is left, so they are not in learners yet;
 * - autoLeave implies a joint config.
 */
import { assert } from '../../common/assert.js';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import { jointCommittedIndex, jointVoteResult, VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export interface TrackerConfig {
  readonly incoming: Set<NodeId>;
  /** Empty unless in a joint config. */
  readonly outgoing: Set<NodeId>;
  readonly learners: Set<NodeId>;
  readonly learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { incoming: new Set(), outgoing: new Set(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    incoming: new Set(c.incoming),
    outgoing: new Set(c.outgoing),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function isJoint(c: TrackerConfig): boolean {
  return c.outgoing.size > 0;
}

export function assertConfigInvariants(c: TrackerConfig, progress: ReadonlyMap<NodeId, Progress>): void {
  for (const set of [c.incoming, c.outgoing, c.learners, c.learnersNext]) {
    for (const id of set) assert(progress.has(id), `tracker: ${id} has no progress`);
  }
  for (const id of c.learners) assert(!c.incoming.has(id), `tracker: ${id} is both learner and voter`);
  for (const id of c.learnersNext) {
    assert(c.outgoing.has(id), `tracker: learnerNext ${id} is not an outgoing voter`);
    assert(!c.learners.has(id), `tracker: learnerNext ${id} is already a learner`);
  }
  if (c.autoLeave) assert(isJoint(c), 'tracker: autoLeave outside a joint config');
  for (const [id, pr] of progress) {
    const inConfig = c.incoming.has(id) || c.outgoing.has(id) || c.learners.has(id) || c.learnersNext.has(id);
    assert(inConfig, `tracker: progress for ${id} which is not a member`);
    assert(pr.isLearner === c.learners.has(id), `tracker: ${id} learner flag disagrees with config`);
  }
}

export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort();
}

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflightMsgs: number,
    readonly maxInflightBytes: number,
  ) {}

  newInflights(): Inflights {
    return new Inflights(this.maxInflightMsgs, this.maxInflightBytes);
  }

  confState(): ConfState {
    return {
      voters: sortedIds(this.config.incoming),
      votersOutgoing: sortedIds(this.config.outgoing),
      learners: sortedIds(this.config.learners),
      learnersNext: sortedIds(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  isSingleton(): boolean {
    return this.config.incoming.size === 1 && this.config.outgoing.size === 0;
  }

  isVoter(id: NodeId): boolean {
    return this.config.incoming.has(id) || this.config.outgoing.has(id);
  }

  /** Voters of both halves, sorted (deterministic send order). */
  voterIds(): NodeId[] {
    return sortedIds(new Set([...this.config.incoming, ...this.config.outgoing]));
  }

  /** Every member with a progress, sorted. */
  memberIds(): NodeId[] {
    return sortedIds(this.progress.keys());
  }

  /** The largest index acknowledged by a quorum (joint-aware). */
  committed(): number {
    return jointCommittedIndex(this.config.incoming, this.config.outgoing, (id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum has been heard from recently (check-quorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      votes.set(id, pr.recentActive);
    }
    return jointVoteResult(this.config.incoming, this.config.outgoing, votes) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voterIds()) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.incoming, this.config.outgoing, this.votes) };
  }
}
