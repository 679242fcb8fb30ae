/**
 * A copyset as the data services see it while this replica leads it: work
 * started in one term stops as soon as the replica is no longer leader of
 * that term (a proposal from a deposed leader cannot commit anyway; this
 * stops the object-store traffic that would go with it).
 */
import type { CopysetNode } from '../copyset/copyset-node.js';

export class LeaderTerm {
  constructor(
    readonly node: CopysetNode,
    readonly term: number,
  ) {}

  static of(node: CopysetNode): LeaderTerm | null {
    if (!node.isLeader()) return null;
    return new LeaderTerm(node, node.status().term);
  }

  isCurrent(): boolean {
    return this.node.isLeader() && this.node.status().term === this.term;
  }

  /** The routing fields every request to this copyset carries. */
  header(fsId: number, partitionId: number): { poolId: number; copysetId: number; partitionId: number; fsId: number } {
    return { poolId: this.node.poolId, copysetId: this.node.copysetId, partitionId, fsId };
  }
}

/** Thrown (and caught by the service) when leadership moved during a step. */
export class LeadershipLost extends Error {
  constructor() {
    super('no longer the copyset leader');
  }
}
