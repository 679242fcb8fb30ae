/**
 * Sequential-read detection and read-ahead window, pure (no I/O, no time).
 * The reader's frontier is the furthest end it has read. A read is
 * sequential when it starts near the frontier: at most the current window
 * (or `slackBytes`, if larger) behind or ahead of it. The tolerance matters
 * with the kernel's own read-ahead, which sends several large requests at
 * once that reach us out of order (the read at 4 MiB after the one at
 * 5 MiB): an exact "starts where the last one ended" test took those for
 * random reads, dropped the window, and fetched them with small ranged GETs.
 * Each read that moves the frontier doubles the window up to the maximum; a
 * read far from the frontier (or the first one away from offset 0) is
 * random and resets it.
 */
import { assert } from '../../src/common/assert.js';

export interface ReadAheadDecision {
  readonly isSequential: boolean;
  /** Range to prefetch after this read; length 0 when none. */
  readonly prefetchOffset: number;
  readonly prefetchLength: number;
}

export class ReadAheadPolicy {
  /** Furthest end read so far (-1 before the first read). */
  private frontier = -1;
  private windowBytes = 0;
  private prefetchedEnd = 0;

  constructor(
    private readonly initialWindowBytes: number,
    private readonly maxWindowBytes: number,
    private readonly slackBytes = 0,
  ) {
    assert(initialWindowBytes > 0 && maxWindowBytes >= initialWindowBytes, 'read-ahead window bounds');
    assert(slackBytes >= 0, 'read-ahead slack');
  }

  get currentWindowBytes(): number {
    return this.windowBytes;
  }

  onRead(offset: number, length: number, fileLength: number): ReadAheadDecision {
    const end = offset + length;
    const tolerance = Math.max(this.slackBytes, this.windowBytes);
    const isSequential = this.frontier < 0 ? offset === 0 : offset >= this.frontier - tolerance && offset <= this.frontier + tolerance;
    if (!isSequential) {
      this.windowBytes = 0;
      this.prefetchedEnd = 0;
      this.frontier = end;
      return { isSequential, prefetchOffset: end, prefetchLength: 0 };
    }
    // Only a read that moves the frontier grows the window: reordered
    // requests of one stream do not count twice.
    if (end > this.frontier) {
      this.windowBytes = this.windowBytes === 0 ? this.initialWindowBytes : Math.min(this.maxWindowBytes, this.windowBytes * 2);
      this.frontier = end;
    }
    // Only ask for what earlier decisions did not already cover.
    const from = Math.max(end, this.prefetchedEnd);
    const to = Math.min(fileLength, this.frontier + this.windowBytes);
    if (to <= from) return { isSequential, prefetchOffset: from, prefetchLength: 0 };
    this.prefetchedEnd = to;
    return { isSequential, prefetchOffset: from, prefetchLength: to - from };
  }
}
