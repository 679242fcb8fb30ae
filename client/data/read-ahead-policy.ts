/**
 * Sequential-read detection and read-ahead window, pure (no I/O, no time).
 * A read that starts where the previous one ended (or within a small slack,
 * for readers that skip a little) is sequential; each sequential read doubles
 * the window up to the maximum, a random read resets it.
 */
import { assert } from '../../src/common/assert.js';

export interface ReadAheadDecision {
  readonly isSequential: boolean;
  /** Range to prefetch after this read; length 0 when none. */
  readonly prefetchOffset: number;
  readonly prefetchLength: number;
}

export class ReadAheadPolicy {
  private expectedOffset = -1;
  private windowBytes = 0;
  private prefetchedEnd = 0;

  constructor(
    private readonly initialWindowBytes: number,
    private readonly maxWindowBytes: number,
    private readonly slackBytes = 0,
  ) {
    assert(initialWindowBytes > 0 && maxWindowBytes >= initialWindowBytes, 'read-ahead window bounds');
  }

  get currentWindowBytes(): number {
    return this.windowBytes;
  }

  onRead(offset: number, length: number, fileLength: number): ReadAheadDecision {
    const end = offset + length;
    const isSequential =
      (this.expectedOffset >= 0 && offset >= this.expectedOffset && offset <= this.expectedOffset + this.slackBytes) ||
      (offset === 0 && this.expectedOffset < 0);
    if (isSequential) {
      this.windowBytes = this.windowBytes === 0 ? this.initialWindowBytes : Math.min(this.maxWindowBytes, this.windowBytes * 2);
    } else {
      this.windowBytes = 0;
      this.prefetchedEnd = 0;
    }
    this.expectedOffset = end;
    if (!isSequential) return { isSequential, prefetchOffset: end, prefetchLength: 0 };
    // Only ask for what earlier decisions did not already cover.
    const from = Math.max(end, this.prefetchedEnd);
    const to = Math.min(fileLength, end + this.windowBytes);
    if (to <= from) return { isSequential, prefetchOffset: from, prefetchLength: 0 };
    this.prefetchedEnd = to;
    return { isSequential, prefetchOffset: from, prefetchLength: to - from };
  }
}
