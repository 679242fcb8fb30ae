/**
 * Exponential backoff with jitter. Pure: the random source is injected (no
 * Math.random), so a simulation replays the same delays from its seed.
 * Jitter spreads retries of many clients that failed together (a leader
 * change) so they do not arrive in lock step.
 */
import { assert } from '../common/assert.js';
import type { Random } from '../common/random.js';

export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Ceiling of any delay (before jitter). */
  readonly maxMs: number;
  readonly multiplier: number;
  /** Relative spread: a delay d becomes uniform in [d(1-jitter), d(1+jitter)). */
  readonly jitter: number;
}

export const BACKOFF_DEFAULTS: BackoffOptions = Object.freeze({
  initialMs: 50,
  maxMs: 2_000,
  multiplier: 2,
  jitter: 0.2,
});

export class ExponentialBackoff {
  readonly options: BackoffOptions;

  constructor(
    options: Partial<BackoffOptions>,
    private readonly random: Random,
  ) {
    this.options = { ...BACKOFF_DEFAULTS, ...options };
    const o = this.options;
    assert(o.initialMs >= 0 && Number.isFinite(o.initialMs), `backoff initialMs ${o.initialMs}`);
    assert(o.maxMs >= o.initialMs, `backoff maxMs ${o.maxMs} < initialMs ${o.initialMs}`);
    assert(o.multiplier >= 1, `backoff multiplier ${o.multiplier} < 1`);
    assert(o.jitter >= 0 && o.jitter <= 1, `backoff jitter ${o.jitter} outside [0, 1]`);
  }

  /** The delay before retry number `retry` (0 for the first retry). */
  delayMs(retry: number): number {
    assert(Number.isSafeInteger(retry) && retry >= 0, `retry ${retry}`);
    const o = this.options;
    // Cap the exponent so multiplier^retry cannot overflow to Infinity.
    const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.multiplier, Math.min(retry, 64)));
    const spread = 1 + o.jitter * (2 * this.random.next() - 1);
    const delay = Math.round(base * spread);
    assert(delay >= 0 && delay <= Math.ceil(o.maxMs * (1 + o.jitter)), `backoff delay ${delay}`);
    return delay;
  }
}
