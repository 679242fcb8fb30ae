/**
 * The MDS storage seam: a small transactional key-value store. Two engines
 * implement it: etcd (HA, several MDS) and a local fsync'd file (embedded,
 * one MDS). Everything the MDS persists goes through this interface, so the
 * logic above it is the same in both modes.
 *
 * Contract:
 * - Keys are plain strings relative to the store's own prefix; values are strings (JSON).
 * - Every key carries `modRevision`, a store-wide counter bumped by every write; a
 *   compare against modRevision 0 means "the key must be absent".
 * - `txn` applies all ops atomically iff all compares hold.
 * - A write that the store refuses because this MDS is no longer the leader throws
 *   `CurveError('CURVEFS_ERR_NOT_LEADER')` (fencing, see etcd-store.ts); nothing is written.
 */
import { CurveError } from '../../src/common/errors.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** Holds iff the key's modRevision equals `modRevision` (0: the key is absent). */
export interface Compare {
  readonly key: string;
  readonly modRevision: number;
}

export type StoreOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string };

export interface TxnResult {
  readonly succeeded: boolean;
  /** The store revision after the txn (the new modRevision of every key it put). */
  readonly revision: number;
}

export interface MdsStore {
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys starting with `prefix`, sorted by key. */
  list(prefix: string): Promise<KeyValue[]>;
  /** Unconditional put; returns the new modRevision. */
  put(key: string, value: string): Promise<number>;
  delete(key: string): Promise<void>;
  txn(compares: readonly Compare[], ops: readonly StoreOp[]): Promise<TxnResult>;
  close(): Promise<void>;
}

/** Bounds on what one txn may carry (etcd's default max-txn-ops is 128). */
export const TXN_OPS_MAX = 128;
export const VALUE_BYTES_MAX = 1024 * 1024;

export function notLeaderError(detail: string): CurveError {
  return new CurveError('CURVEFS_ERR_NOT_LEADER', `not the MDS leader: ${detail}`);
}

export function isNotLeader(e: unknown): boolean {
  return CurveError.is(e) && e.code === 'CURVEFS_ERR_NOT_LEADER';
}
