/**
 * Deadlines. Every RPC has one: a per-attempt deadline (how long one try may
 * take) clipped by the call's overall deadline (how long the caller is willing
 * to wait including retries). Times are milliseconds on the injected Clock,
 * which must be the wall clock for gRPC (its deadlines are wall-clock Dates).
 */
import { assert } from '../common/assert.js';
import type { Clock } from '../common/clock.js';

export const TIMEOUT_DEFAULT_MS = 5_000;
export const TOTAL_TIMEOUT_DEFAULT_MS = 20_000;

export class Deadline {
  private constructor(readonly atMs: number) {}

  static after(timeoutMs: number, clock: Clock): Deadline {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, `timeout must be positive, got ${timeoutMs}`);
    return new Deadline(clock.nowMs() + timeoutMs);
  }

  static at(atMs: number): Deadline {
    assert(Number.isFinite(atMs), `deadline must be finite, got ${atMs}`);
    return new Deadline(atMs);
  }

  remainingMs(clock: Clock): number {
    return Math.max(0, this.atMs - clock.nowMs());
  }

  isExpired(clock: Clock): boolean {
    return this.remainingMs(clock) === 0;
  }

  /** The earlier of the two. */
  min(other: Deadline): Deadline {
    return this.atMs <= other.atMs ? this : other;
  }

  /** The per-attempt deadline: timeoutMs from now, never past this deadline. */
  attempt(timeoutMs: number, clock: Clock): Deadline {
    return Deadline.after(timeoutMs, clock).min(this);
  }
}
