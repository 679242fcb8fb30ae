/**
 * Always-on assertions. A failed assertion is a programmer bug: the process
 * crashes rather than carrying on with corrupt state (a correctness bug
 * becomes a liveness bug). Assertions are never compiled out.
 */
export class AssertionError extends Error {
  readonly code = 'CURVEFS_ERR_ASSERT';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch that must never run (exhaustive switches). */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}

/** Asserts that n is a non-negative safe integer (ids, offsets, sizes decoded from the wire). */
export function assertSafeUint(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new AssertionError(`${what} is not a safe unsigned integer: ${n}`);
}
