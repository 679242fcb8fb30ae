/**
 * A FIFO async mutex. MDS mutations read in-memory state, await the store and
 * then update memory; holding the mutex across that sequence keeps two
 * requests from deciding on the same stale state (e.g. two CreateFs "x").
 */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }

  /** Callers queued or running. */
  get depth(): number {
    return this.waiting;
  }
}
