/**
 * Dirty (written, not yet flushed) bytes of one chunk of a file. Writes that
 * overlap or touch merge into one range, so a sequential writer builds one
 * growing range and uploads whole blocks. A range keeps its bytes as a list
 * of parts rather than one buffer: appending copies only the new bytes (a
 * single buffer would be re-copied on every small append), and an overwrite
 * copies into the parts in place.
 *
 * Invariants: ranges are sorted, non-empty, and neither overlap nor touch;
 * a range's parts are sorted, contiguous, and tile it exactly.
 */
import { assert } from '../../src/common/assert.js';

interface Part {
  offset: number;
  buf: Buffer;
}

export class DirtyRange {
  constructor(
    public start: number,
    public end: number,
    readonly parts: Part[],
    /** Monotonic time of the first write into the range (flush interval). */
    readonly firstWriteMs: number,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  /** Copies the overlap of the range with [offset, offset + target.length) into target. */
  copyInto(target: Buffer, offset: number): void {
    const stop = offset + target.length;
    for (const p of this.parts) {
      const s = Math.max(p.offset, offset);
      const e = Math.min(p.offset + p.buf.length, stop);
      if (s < e) p.buf.copy(target, s - offset, s - p.offset, e - p.offset);
    }
  }

  /** The bytes [start, stop) as one buffer (one copy, at flush time). */
  bytes(start = this.start, stop = this.end): Buffer {
    assert(start >= this.start && stop <= this.end && start < stop, 'bytes() out of the range');
    const out = Buffer.allocUnsafe(stop - start);
    this.copyInto(out, start);
    return out;
  }

  /** Drops [this.start, cut) from the range; returns nothing (caller took bytes first). */
  dropBefore(cut: number): void {
    assert(cut > this.start && cut < this.end, 'dropBefore inside the range');
    while (this.parts.length > 0 && this.parts[0]!.offset + this.parts[0]!.buf.length <= cut) this.parts.shift();
    const first = this.parts[0]!;
    if (first.offset < cut) {
      first.buf = first.buf.subarray(cut - first.offset);
      first.offset = cut;
    }
    this.start = cut;
  }

  /** Drops [cut, this.end). */
  dropFrom(cut: number): void {
    assert(cut > this.start && cut < this.end, 'dropFrom inside the range');
    while (this.parts.length > 0 && this.parts.at(-1)!.offset >= cut) this.parts.pop();
    const last = this.parts.at(-1)!;
    if (last.offset + last.buf.length > cut) last.buf = last.buf.subarray(0, cut - last.offset);
    this.end = cut;
  }

  checkInvariants(): void {
    let pos = this.start;
    for (const p of this.parts) {
      assert(p.offset === pos && p.buf.length > 0, 'dirty parts must tile their range');
      pos += p.buf.length;
    }
    assert(pos === this.end, 'dirty parts must cover their range');
  }
}

export class ChunkDirty {
  /** Sorted, disjoint, non-touching. */
  readonly ranges: DirtyRange[] = [];

  get bytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.length;
    return n;
  }

  /**
   * Writes data at offset (file offsets, inside this chunk). Returns the
   * number of new bytes buffered (the write minus what overwrote dirty bytes
   * in place), which is what the memory budget is charged.
   */
  write(offset: number, data: Buffer, nowMs: number): number {
    assert(data.length > 0, 'empty dirty write');
    const end = offset + data.length;
    // Ranges that overlap or touch [offset, end).
    let first = 0;
    while (first < this.ranges.length && this.ranges[first]!.end < offset) first++;
    let last = first;
    while (last < this.ranges.length && this.ranges[last]!.start <= end) last++;
    const touched = this.ranges.slice(first, last);
    const parts: Part[] = [];
    let fresh = 0;
    let pos = offset;
    // Walk the union left to right: existing parts are kept (overwritten in
    // place where the write covers them), gaps are filled with copies of data.
    const firstWriteMs = touched.length > 0 ? Math.min(...touched.map((r) => r.firstWriteMs)) : nowMs;
    const start = Math.min(offset, touched[0]?.start ?? offset);
    const stop = Math.max(end, touched.at(-1)?.end ?? end);
    const addFresh = (s: number, e: number): void => {
      if (s >= e) return;
      parts.push({ offset: s, buf: Buffer.from(data.subarray(s - offset, e - offset)) });
      fresh += e - s;
    };
    for (const r of touched) {
      for (const p of r.parts) {
        const pEnd = p.offset + p.buf.length;
        if (pos < p.offset) addFresh(Math.max(pos, offset), Math.min(p.offset, end));
        const s = Math.max(p.offset, offset);
        const e = Math.min(pEnd, end);
        if (s < e) data.copy(p.buf, s - p.offset, s - offset, e - offset);
        parts.push(p);
        pos = pEnd;
      }
    }
    addFresh(Math.max(pos, offset), end);
    parts.sort((a, b) => a.offset - b.offset);
    const merged = new DirtyRange(start, stop, parts, firstWriteMs);
    merged.checkInvariants();
    this.ranges.splice(first, last - first, merged);
    return fresh;
  }

  /** Drops every dirty byte at or past `length` (truncate); returns bytes dropped. */
  truncate(length: number): number {
    let dropped = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      if (r.start >= length) {
        dropped += r.length;
        this.ranges.splice(i, 1);
      } else if (r.end > length) {
        dropped += r.end - length;
        r.dropFrom(length);
      }
    }
    return dropped;
  }

  /** Removes and returns range i whole. */
  take(i: number): DirtyRange {
    const [r] = this.ranges.splice(i, 1);
    assert(r !== undefined, 'take of a missing range');
    return r;
  }
}
