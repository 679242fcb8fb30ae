/** Timers as an injected dependency, so tests can drive flush intervals by hand. */
export interface Timers {
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout(fn, delayMs) {
    const t = setTimeout(fn, delayMs);
    // A pending flush timer must not keep the process alive on its own.
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
