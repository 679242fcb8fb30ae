/**
 * Leader redirection, server side. A follower (a metaserver that is not the
 * copyset leader, an MDS that is not the elected one) answers with status
 * REDIRECTED and, when it knows it, the leader's "host:port" in leaderHint;
 * the RpcClient follows the hint and retries. Handlers either return
 * notLeader(hint) or throw new RedirectError(hint).
 */
import { MetaError } from '../common/errors.js';
import { MetaStatusCode } from '../common/meta-status.js';

export interface RedirectReply {
  status: MetaStatusCode;
  leaderHint: string;
}

/** The reply of a follower. An invalid or absent hint is sent as '' (caller tries the next address). */
export function notLeader(hintAddress?: string): RedirectReply {
  const hint = hintAddress !== undefined && isAddress(hintAddress) ? hintAddress : '';
  return { status: MetaStatusCode.REDIRECTED, leaderHint: hint };
}

/** Thrown by a handler deep in a call; RpcServer turns it into notLeader(hint). */
export class RedirectError extends MetaError {
  readonly leaderHint: string;
  constructor(hintAddress?: string) {
    super(MetaStatusCode.REDIRECTED, `not leader${hintAddress ? `; leader is ${hintAddress}` : ''}`);
    this.leaderHint = hintAddress !== undefined && isAddress(hintAddress) ? hintAddress : '';
    this.name = 'RedirectError';
  }
}

/**
 * For a server that knows (or will learn) who leads: builds redirects from
 * the current leader address, e.g. `new LeaderRedirect(() => node.leaderAddress())`.
 */
export class LeaderRedirect {
  constructor(private readonly leaderAddress: () => string | undefined) {}

  /** The REDIRECTED reply, with the given hint or the current leader's address. */
  notLeader(hintAddress: string | undefined = this.leaderAddress()): RedirectReply {
    return notLeader(hintAddress);
  }

  /** The same, as an error to throw from deep inside a handler. */
  error(hintAddress: string | undefined = this.leaderAddress()): RedirectError {
    return new RedirectError(hintAddress);
  }
}

/** True for "host:port" and "[v6]:port" with a port in 1..65535. */
export function isAddress(address: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (match === null) return false;
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535;
}

/** Statuses that mean "ask the leader instead". */
export function isRedirectStatus(status: MetaStatusCode): boolean {
  return status === MetaStatusCode.REDIRECTED || status === MetaStatusCode.NOT_LEADER;
}
