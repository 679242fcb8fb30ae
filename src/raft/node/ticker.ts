/**
 * The source of Raft ticks, injected so tests drive time by hand and so a
 * process hosting many groups runs ONE timer for all of them (idle groups
 * then cost one function call per tick, not a timer each).
 */
import { assert } from '../../common/assert.js';

export interface Ticker {
  /** Calls `fn` on every tick until the returned function is called. */
  subscribe(fn: () => void): () => void;
}

/**
 * Real time: one setInterval shared by all subscribers. Unref'd by default
 * (a server's sockets keep the process alive, not its Raft clock); tests
 * that wait on Raft progress alone pass `{ keepAlive: true }`.
 */
export class IntervalTicker implements Ticker {
  private readonly subscribers = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly tickMs: number,
    private readonly options: { keepAlive?: boolean } = {},
  ) {
    assert(tickMs > 0, 'tick interval must be positive');
  }

  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    if (this.timer === null) {
      this.timer = setInterval(() => {
        for (const s of this.subscribers) s();
      }, this.tickMs);
      if (this.options.keepAlive !== true) this.timer.unref();
    }
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }
}

/** Ticks only when `tick()` is called; for tests. */
export class ManualTicker implements Ticker {
  private readonly subscribers = new Set<() => void>();

  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  tick(times = 1): void {
    for (let i = 0; i < times; i++) for (const s of [...this.subscribers]) s();
  }
}
