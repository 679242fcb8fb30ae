/**
 * One metaserver request as the MetaClient issues it: fill the routing
 * header from the target partition, send through the copyset's RpcClient
 * (which follows leader redirects and retries transport failures), and on
 * top of that:
 * - COPYSET_NOT_FOUND (and PARTITION_NOT_FOUND where the caller says it
 *   means a stale route) → refresh the routes from the MDS and resend;
 * - UNAVAILABLE / TIMEOUT replies (a Raft group between leaders, a proposal
 *   that could not finish in time) → back off and resend;
 * - TX_LOCKED (a pending rename holds the name) → resolve the lock through
 *   its primary (tx-resolver.ts) and resend.
 * Every loop is bounded in attempts and time.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { MessageInit } from '../../src/proto/types-common.js';
import type { MetaServerMethods, TxLock } from '../../src/proto/types-metaserver.js';
import { abortableSleep, type RequestOf, type ResponseOf } from '../../src/rpc/index.js';
import type { MetaRouter, Target } from './meta-router.js';

type M = MetaServerMethods;
type Method = keyof M & string;
type Body<K extends Method> = Omit<MessageInit<RequestOf<M, K>>, 'poolId' | 'copysetId' | 'partitionId' | 'fsId'>;

/** Resends of one request after a stale route or an unavailable group. */
const CALL_ATTEMPTS_MAX = 12;
/** Backoff between resends after UNAVAILABLE: doubles from the first, capped. */
const BACKOFF_FIRST_MS = 20;
const BACKOFF_MAX_MS = 1_000;
/** Rounds of "meet a lock, resolve or wait, resend" before giving up. */
export const LOCK_ROUNDS_MAX = 100;

export interface CallOptionsMeta {
  /** PARTITION_NOT_FOUND means our route is stale (true for almost every request). */
  readonly isRerouteOnPartitionNotFound?: boolean;
  /** Safe to resend after a timeout (reads, and changes the server deduplicates). */
  readonly isIdempotent?: boolean;
}

export interface Reply<K extends Method> {
  readonly reply: ResponseOf<M, K>;
  readonly target: Target;
}

/** Resolves `lock` in the partitions where the request met it; true when it is gone. */
export type LockResolver = (lock: TxLock, lockedAt: readonly Target[]) => Promise<boolean>;

export class MetaCaller {
  /** Set by the MetaClient once the resolver exists (they need each other). */
  resolveLock: LockResolver | null = null;

  constructor(
    readonly router: MetaRouter,
    private readonly logger: Logger,
  ) {}

  async call<K extends Method>(locate: () => Promise<Target>, method: K, body: Body<K>, options: CallOptionsMeta = {}): Promise<Reply<K>> {
    const isReroute = options.isRerouteOnPartitionNotFound ?? true;
    for (let attempt = 1; ; attempt++) {
      const target = await locate();
      const p = target.partition;
      const request = { poolId: p.poolId, copysetId: p.copysetId, partitionId: p.partitionId, fsId: this.router.fsId, ...body };
      const reply = (await target.client.call(method, request as MessageInit<RequestOf<M, K>>, {
        ...(options.isIdempotent !== undefined ? { isIdempotent: options.isIdempotent } : {}),
      })) as ResponseOf<M, K>;
      const status = (reply as { status: MetaStatusCode }).status;
      const isLast = attempt >= CALL_ATTEMPTS_MAX;
      if (!isLast && (status === MetaStatusCode.COPYSET_NOT_FOUND || (isReroute && status === MetaStatusCode.PARTITION_NOT_FOUND))) {
        this.logger.debug({ method, partitionId: p.partitionId, status: MetaStatusCode[status] }, 'meta: stale route, refreshing');
        const answered = target.client.leaderAddress();
        if (attempt > 1) await abortableSleep(backoffMs(attempt - 1), undefined);
        await this.router.refresh();
        // A replica without the copyset (not created yet, or removed) is not its leader: try the next one.
        if (status === MetaStatusCode.COPYSET_NOT_FOUND) rotatePast(target.client, answered);
        continue;
      }
      if (!isLast && (status === MetaStatusCode.UNAVAILABLE || status === MetaStatusCode.TIMEOUT)) {
        await abortableSleep(backoffMs(attempt), undefined);
        continue;
      }
      return { reply, target };
    }
  }

  /**
   * call() that resolves transaction locks in the way: `lockOf` extracts the
   * lock from a TX_LOCKED reply (null when the reply does not carry it).
   */
  async callUnlocked<K extends Method>(
    locate: () => Promise<Target>,
    method: K,
    body: Body<K>,
    lockOf: (reply: ResponseOf<M, K>, target: Target) => Promise<TxLock | null> | TxLock | null,
    options: CallOptionsMeta & {
      /** Partitions the request may meet the lock in (default: the addressed one). A rename checks several. */
      readonly lockSites?: (target: Target) => Promise<readonly Target[]>;
    } = {},
  ): Promise<Reply<K>> {
    for (let round = 1; ; round++) {
      const result = await this.call(locate, method, body, options);
      if ((result.reply as { status: MetaStatusCode }).status !== MetaStatusCode.TX_LOCKED) return result;
      if (round >= LOCK_ROUNDS_MAX) throw new MetaError(MetaStatusCode.TX_LOCKED, `${method}: a rename transaction keeps the name locked`);
      const lock = await lockOf(result.reply, result.target);
      assert(this.resolveLock !== null, 'lock resolver is set');
      const sites = options.lockSites === undefined ? [result.target] : await options.lockSites(result.target);
      const isResolved = lock !== null && lock.primary !== null ? await this.resolveLock(lock, sites) : false;
      if (!isResolved) await abortableSleep(backoffMs(round), undefined);
    }
  }
}

/** Moves a copyset client off `address` to the next known replica (if it is still on it). */
function rotatePast(client: Target['client'], address: string): void {
  const known = client.knownAddresses();
  if (known.length < 2 || client.leaderAddress() !== address) return;
  client.setLeader(known[(known.indexOf(address) + 1) % known.length]!);
}

export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt - 1, 10));
}

/** Throws MetaError unless the reply is OK. */
export function checkOk(method: string, reply: { status: MetaStatusCode }): void {
  if (reply.status !== MetaStatusCode.OK) {
    const detail = (reply as { errorMessage?: unknown }).errorMessage;
    throw new MetaError(reply.status, `${method}: ${MetaStatusCode[reply.status] ?? reply.status}${typeof detail === 'string' && detail !== '' ? `: ${detail}` : ''}`);
  }
}
