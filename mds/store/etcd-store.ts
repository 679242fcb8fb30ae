/**
 * The MDS store on etcd: every key lives under one prefix (default
 * `/curvefs/`), values are JSON strings.
 *
 * Fencing: while this MDS leads, every write is an etcd txn that also
 * requires the election key to still have the create revision it had when we
 * won (the key is bound to our lease, so it vanishes when the lease expires).
 * A deposed leader's write therefore fails inside etcd even if the old leader
 * has not noticed yet; it surfaces as CURVEFS_ERR_NOT_LEADER. Without a fence
 * (a follower, or a leader that stepped down) writes are refused up front.
 */
import type { Etcd3, IRequestOp, ICompare } from 'etcd3';
import { assert } from '../../src/common/assert.js';
import { callDeadline, prefixRangeEnd } from '../etcd/etcd-client.js';
import type { Compare, KeyValue, MdsStore, StoreOp, TxnResult } from './mds-store.js';
import { TXN_OPS_MAX, VALUE_BYTES_MAX, notLeaderError } from './mds-store.js';

const LIST_PAGE_KEYS = 1000;
const LIST_PAGES_MAX = 10_000;

export interface Fence {
  /** Full etcd key of the election key. */
  readonly key: string;
  /** Its create revision when this MDS won. */
  readonly createRevision: string;
}

export class EtcdStore implements MdsStore {
  private fence: Fence | null = null;

  /**
   * @param requireFence true for an HA MDS: writes need a fence (see setFence).
   */
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly requireFence: boolean,
  ) {
    assert(prefix.length > 0 && prefix.endsWith('/'), `etcd prefix must end with '/': ${prefix}`);
  }

  /** Set when this MDS becomes leader, cleared (null) the moment it stops. */
  setFence(fence: Fence | null): void {
    this.fence = fence;
  }

  private fullKey(key: string): Buffer {
    return Buffer.from(this.prefix + key, 'utf8');
  }

  private toKeyValue(kv: { key: Buffer; value: Buffer; mod_revision: string }): KeyValue {
    const full = kv.key.toString('utf8');
    assert(full.startsWith(this.prefix), `etcd key ${full} outside prefix ${this.prefix}`);
    const modRevision = Number(kv.mod_revision);
    assert(Number.isSafeInteger(modRevision) && modRevision > 0, 'etcd mod_revision');
    return { key: full.slice(this.prefix.length), value: kv.value.toString('utf8'), modRevision };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.client.kv.range({ key: this.fullKey(key) }, callDeadline());
    const kv = res.kvs[0];
    return kv ? this.toKeyValue(kv) : undefined;
  }

  /** Pages through the range (LIST_PAGE_KEYS a call) so a large state never exceeds gRPC's message limit. */
  async list(prefix: string): Promise<KeyValue[]> {
    const first = this.fullKey(prefix);
    const end = prefixRangeEnd(first);
    const result: KeyValue[] = [];
    let from = first;
    let revision: string | undefined;
    for (let page = 0; page < LIST_PAGES_MAX; page++) {
      // Every page reads at the first page's revision: one consistent snapshot.
      const res = await this.client.kv.range(
        { key: from, range_end: end, limit: LIST_PAGE_KEYS, ...(revision === undefined ? {} : { revision }) },
        callDeadline(),
      );
      revision ??= res.header.revision;
      for (const kv of res.kvs) result.push(this.toKeyValue(kv));
      if (!res.more || res.kvs.length === 0) return result;
      // The next page starts right after the last key: append a zero byte.
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    throw new Error(`listing ${prefix} needs more than ${LIST_PAGES_MAX} pages`);
  }

  async put(key: string, value: string): Promise<number> {
    const result = await this.txn([], [{ kind: 'put', key, value }]);
    assert(result.succeeded, 'an unconditional put succeeds');
    return result.revision;
  }

  async delete(key: string): Promise<void> {
    await this.txn([], [{ kind: 'delete', key }]);
  }

  async txn(compares: readonly Compare[], ops: readonly StoreOp[]): Promise<TxnResult> {
    assert(ops.length <= TXN_OPS_MAX, `txn has ${ops.length} ops, max ${TXN_OPS_MAX}`);
    const fence = this.fence;
    if (this.requireFence && fence === null) throw notLeaderError('no leadership fence');
    const compare: ICompare[] = compares.map((c) => ({
      key: this.fullKey(c.key),
      target: 'Mod',
      result: 'Equal',
      mod_revision: c.modRevision,
    }));
    const failure: IRequestOp[] = [];
    if (fence) {
      compare.push({ key: Buffer.from(fence.key), target: 'Create', result: 'Equal', create_revision: fence.createRevision });
      // On failure, read the election key back to tell "lost leadership" from "compare failed".
      failure.push({ request_range: { key: Buffer.from(fence.key) } });
    }
    const success: IRequestOp[] = ops.map((op) => {
      if (op.kind === 'put') {
        assert(op.value.length <= VALUE_BYTES_MAX, `value of ${op.key} too large`);
        return { request_put: { key: this.fullKey(op.key), value: Buffer.from(op.value, 'utf8') } };
      }
      return { request_delete_range: { key: this.fullKey(op.key) } };
    });
    const res = await this.client.kv.txn({ compare, success, failure }, callDeadline());
    const revision = Number(res.header.revision);
    assert(Number.isSafeInteger(revision) && revision > 0, 'etcd header revision');
    if (!res.succeeded && fence) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (!kv || kv.create_revision !== fence.createRevision) throw notLeaderError('election key changed (lease lost)');
    }
    return { succeeded: res.succeeded, revision };
  }

  async close(): Promise<void> {
    this.fence = null;
  }
}
