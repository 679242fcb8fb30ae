/** Errors a RaftNode's callers branch on (by `code`). */
import { CurveError } from '../../common/errors.js';
import type { NodeId } from '../core/types.js';

/**
 * This node is not the leader (or stopped being it before the request
 * completed: the outcome of a proposal is then unknown). `leader` is the
 * leader this node knows of, '' if none.
 */
export class NotLeaderError extends CurveError {
  constructor(
    readonly leader: NodeId | '',
    message = leader === '' ? 'raft: not the leader (leader unknown)' : `raft: not the leader (leader is ${leader})`,
  ) {
    super('CURVEFS_ERR_NOT_LEADER', message);
    this.name = 'NotLeaderError';
  }
}

/** The group cannot take the request now (proposal dropped, node stopped, timeout). */
export class RaftUnavailableError extends CurveError {
  constructor(message: string) {
    super('CURVEFS_ERR_UNAVAILABLE', message);
    this.name = 'RaftUnavailableError';
  }
}
