/**
 * Quorum math, pure and separate from everything else (etcd's quorum/).
 *
 * A majority config is a set of voters; a joint config is a pair (incoming,
 * outgoing) where a decision needs a majority of each. An empty majority
 * config is the identity: it agrees to everything (commit index +Infinity,
 * vote won), so a non-joint config is simply a joint one with an empty
 * outgoing half.
 */
import type { NodeId } from './types.js';

export enum VoteResult {
  Pending = 0,
  Lost = 1,
  Won = 2,
}

/** Returns a voter's acknowledged index, or undefined if it has not acknowledged any. */
export type AckedIndexer = (id: NodeId) => number | undefined;

/**
 * The largest index that a majority of `voters` has acknowledged. Voters
 * without an acknowledgement count as index 0.
 */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: AckedIndexer): number {
  const n = voters.size;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const indexes: number[] = [];
  for (const id of voters) indexes.push(acked(id) ?? 0);
  indexes.sort((a, b) => b - a);
  // With indexes sorted high to low, the (n/2+1)-th one is held by a majority.
  const quorum = Math.floor(n / 2) + 1;
  return indexes[quorum - 1]!;
}

export function jointCommittedIndex(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  acked: AckedIndexer,
): number {
  const a = majorityCommittedIndex(incoming, acked);
  const b = majorityCommittedIndex(outgoing, acked);
  return Math.min(a, b);
}

/** votes: true = granted, false = rejected, absent = not yet heard. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  if (granted >= quorum) return VoteResult.Won;
  if (granted + missing >= quorum) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function jointVoteResult(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const a = majorityVoteResult(incoming, votes);
  const b = majorityVoteResult(outgoing, votes);
  if (a === b) return a;
  // If either half lost, the joint vote is lost; otherwise it waits.
  if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}
