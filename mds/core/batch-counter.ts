/**
 * A persistent counter handed out in batches: chunk ids, TSO timestamps,
 * fs/partition/copyset/metaserver ids.
 *
 * The store holds the first value NOT yet reserved. Reserving a batch is a
 * compare-and-swap on that key, so the range [old, new) belongs to this
 * leader before any id of it is handed out. A new leader reads the key and
 * starts above every range any earlier leader reserved: ids a dead leader
 * reserved but never handed out are skipped, never repeated. Writes are
 * fenced (etcd-store.ts), so a deposed leader cannot reserve.
 */
import { assert } from '../../src/common/assert.js';
import { CurveError } from '../../src/common/errors.js';
import type { MdsStore } from '../store/mds-store.js';
import { AsyncMutex } from './async-mutex.js';

const RESERVE_ATTEMPTS_MAX = 8;
/** Values must stay exact as JS numbers and as uint64 on the wire. */
const COUNTER_MAX = Number.MAX_SAFE_INTEGER;

export class BatchCounter {
  private next = 0;
  private limit = 0;
  private readonly mutex = new AsyncMutex();

  /**
   * @param firstValue the value handed out first when the key does not exist yet (ids start at 1).
   */
  constructor(
    private readonly store: MdsStore,
    readonly key: string,
    private readonly batch: number,
    private readonly firstValue = 1,
  ) {
    assert(Number.isSafeInteger(batch) && batch >= 1, `batch ${batch}`);
    assert(Number.isSafeInteger(firstValue) && firstValue >= 0, 'first value');
  }

  /** Forget the in-memory batch (on every leadership change: another leader may have reserved since). */
  reset(): void {
    this.next = 0;
    this.limit = 0;
  }

  /** Values [start, start + count) are the caller's, never handed out again. */
  take(count: number): Promise<number> {
    assert(Number.isSafeInteger(count) && count >= 1, `take count ${count}`);
    return this.mutex.run(async () => {
      // A reset() may land while reserve() awaits the store: check again after each reservation.
      for (let attempt = 0; this.limit - this.next < count; attempt++) {
        if (attempt >= RESERVE_ATTEMPTS_MAX) throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `counter ${this.key}: batch kept being reset`);
        await this.reserve(count);
      }
      const start = this.next;
      this.next += count;
      assert(this.next <= this.limit, 'taken values lie inside the reserved batch');
      return start;
    });
  }

  private async reserve(count: number): Promise<void> {
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS_MAX; attempt++) {
      const kv = await this.store.get(this.key);
      const stored = kv === undefined ? this.firstValue : Number(kv.value);
      assert(Number.isSafeInteger(stored) && stored >= 0, `counter ${this.key} holds ${kv?.value}`);
      // Continue the current batch if nobody reserved since; else start above the stored value.
      const start = this.limit === stored && this.next < this.limit ? this.next : stored;
      const limit = stored + Math.max(this.batch, count - (stored - start));
      if (limit > COUNTER_MAX) throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `counter ${this.key} exhausted`);
      const result = await this.store.txn(
        [{ key: this.key, modRevision: kv?.modRevision ?? 0 }],
        [{ kind: 'put', key: this.key, value: String(limit) }],
      );
      if (result.succeeded) {
        assert(limit - start >= count, 'the reserved batch covers the request');
        this.next = start;
        this.limit = limit;
        return;
      }
    }
    throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `counter ${this.key}: reservation kept conflicting`);
  }

  /** For tests and metrics: the reserved but not yet handed out range. */
  get remaining(): number {
    return this.limit - this.next;
  }
}
