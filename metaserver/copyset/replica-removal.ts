/**
 * When may a metaserver drop its replica of a copyset? After RemovePeer or
 * ChangePeer took it out of the group, nobody sends it log entries any
 * more, so its WAL and snapshots would stay on disk forever. Deleting a
 * replica that is still a member, though, loses a copy of acknowledged
 * changes (and with another failure, the changes). So the replica is
 * dropped only when one of these says it is out:
 *
 *  - its own configuration: it applied the change that removed it (its
 *    conf has voters, none of them it, and it is no learner either);
 *  - the caller (the MDS, right after the change) vouches for a NEWER
 *    configuration without it: `epoch` above the epoch this replica has
 *    applied, `peers` not listing it. The epoch goes up by one per
 *    membership change (SetCopysetVoters), so a higher one is a later
 *    configuration; a removed replica often never learns of its own
 *    removal (the leader stops talking to it), which is why this is needed.
 *
 * A caller listing the replica among `peers` is never obeyed. Pure.
 */
import type { ConfState } from '../../src/raft/core/types.js';

export interface MembershipClaim {
  /** The copyset epoch at which `peers` are the voters (0 = unknown). */
  readonly epoch: number;
  /** Service addresses of the voters at `epoch`. */
  readonly peers: readonly string[];
}

export function isRemovedReplica(self: string, conf: ConfState, appliedEpoch: number, claim: MembershipClaim): boolean {
  if (claim.peers.includes(self)) return false;
  const listed = [conf.voters, conf.votersOutgoing, conf.learners, conf.learnersNext ?? []].some((ids) => ids.includes(self));
  if (!listed && conf.voters.length > 0) return true;
  return claim.epoch > appliedEpoch && claim.peers.length > 0;
}
