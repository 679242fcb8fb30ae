/**
 * A timer-based wait that an AbortSignal can cut short. Used between retries;
 * the timer is cleared on abort so nothing keeps the event loop alive.
 */
import { assert } from '../common/assert.js';

/** Resolves true after ms, or false at once when the signal aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  assert(Number.isFinite(ms) && ms >= 0, `sleep ${ms}`);
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
