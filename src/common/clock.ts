/**
 * Time as an injected dependency. Pure modules never read the wall clock;
 * drivers pass a Clock so simulations can run on virtual time.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic for MonotonicClock. */
  nowMs(): number;
}

/** Wall-clock time (for timestamps that users see, e.g. file mtimes). */
export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
}

/** Monotonic time (for timeouts and latencies). */
export class MonotonicClock implements Clock {
  nowMs(): number {
    return performance.now();
  }
}

/** A clock that moves only when told; for tests and simulation. */
export class ManualClock implements Clock {
  constructor(private timeMs = 0) {}
  nowMs(): number {
    return this.timeMs;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('time cannot move backwards');
    this.timeMs += ms;
  }
}
