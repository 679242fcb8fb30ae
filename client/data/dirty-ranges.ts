/**
 * Dirty (written, not yet flushed) bytes of one chunk of a file. Writes that
 * overlap or touch merge into one range, so a sequential writer builds one
 * growing range and uploads whole blocks. A range keeps its bytes as a list
 * of parts rather than one buffer: an overwrite copies into the parts in
 * place, and an append copies only the new bytes.
 *
 * Spare capacity: a part started by a write that looks sequential (a large
 * write at a block start, or an append to the range) may be allocated up to the end of its
 * block, if the memory budget grants the extra bytes at once (`reserve`).
 * Later appends then fill it in place, so a sequential writer's block is one
 * part and the flush hands it to the upload without another copy. Spare
 * bytes are charged to the budget like dirty bytes (`chargedBytes`).
 *
 * A part whose backing is exactly one block (a sequential writer's block)
 * takes it from the BlockPool when there is one: the range holds one
 * reference per such part and gives it back when the part leaves the range
 * (cut, truncated); a view that `bytes()` hands out holds its own.
 *
 * Invariants: ranges are sorted, non-empty, and neither overlap nor touch;
 * a range's parts are sorted, contiguous, and tile it exactly.
 */
import { assert } from '../../src/common/assert.js';
import type { BlockPool } from './block-pool.js';

interface Part {
  offset: number;
  buf: Buffer;
  /** Bytes allocated right after buf (same allocation, never pooled), free to fill. */
  spare: number;
}

/** Grants `bytes` more of memory budget synchronously, or refuses. */
export type Reserve = (bytes: number) => boolean;

export class DirtyRange {
  constructor(
    public start: number,
    public end: number,
    readonly parts: Part[],
    /** Monotonic time of the first write into the range (flush interval). */
    readonly firstWriteMs: number,
    private readonly pool: BlockPool | null = null,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  /** Dirty bytes plus spare capacity: what the range holds of the memory budget. */
  get chargedBytes(): number {
    let n = this.length;
    for (const p of this.parts) n += p.spare;
    return n;
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

  /**
   * The bytes [start, stop) as one buffer. Without `copy`, a span inside one
   * part is returned as a view of it (the flush path: the range gives those
   * bytes up, so nothing writes into them afterwards); a view of a pooled
   * block holds a reference of its own, which its taker releases.
   */
  bytes(start = this.start, stop = this.end, copy = false): Buffer {
    assert(start >= this.start && stop <= this.end && start < stop, 'bytes() out of the range');
    if (!copy) {
      const p = this.parts.find((q) => q.offset <= start && stop <= q.offset + q.buf.length);
      if (p !== undefined) {
        this.pool?.retain(p.buf);
        return p.buf.subarray(start - p.offset, stop - p.offset);
      }
    }
    const out = Buffer.allocUnsafe(stop - start);
    this.copyInto(out, start);
    return out;
  }

  /** Drops [this.start, cut) from the range (the caller took those bytes). */
  dropBefore(cut: number): void {
    assert(cut > this.start && cut < this.end, 'dropBefore inside the range');
    while (this.parts.length > 0 && this.parts[0]!.offset + this.parts[0]!.buf.length <= cut) this.releasePart(this.parts.shift()!);
    const first = this.parts[0]!;
    if (first.offset < cut) {
      first.buf = first.buf.subarray(cut - first.offset);
      first.offset = cut;
    }
    this.start = cut;
  }

  /** Drops [cut, this.end); returns the charged bytes freed (spare included). */
  dropFrom(cut: number): number {
    assert(cut > this.start && cut < this.end, 'dropFrom inside the range');
    const before = this.chargedBytes;
    while (this.parts.length > 0 && this.parts.at(-1)!.offset >= cut) this.releasePart(this.parts.pop()!);
    const last = this.parts.at(-1)!;
    if (last.offset + last.buf.length > cut) last.buf = last.buf.subarray(0, cut - last.offset);
    // Bytes past the cut are not reused as spare: a later write there is not an append.
    last.spare = 0;
    this.end = cut;
    return before - this.chargedBytes;
  }

  /** The range is dropped whole (cut into a job, truncated away): its parts give their blocks back. */
  discard(): void {
    for (const p of this.parts) this.releasePart(p);
    this.parts.length = 0;
  }

  /** A part left the range (not `pool?.release(...)`: that would skip evaluating its argument). */
  private releasePart(p: Part): void {
    if (this.pool !== null) this.pool.release(p.buf);
  }

  checkInvariants(): void {
    let pos = this.start;
    for (const p of this.parts) {
      assert(p.offset === pos && p.buf.length > 0 && p.spare >= 0, 'dirty parts must tile their range');
      pos += p.buf.length;
    }
    assert(pos === this.end, 'dirty parts must cover their range');
  }
}

export class ChunkDirty {
  /** Sorted, disjoint, non-touching. */
  readonly ranges: DirtyRange[] = [];

  constructor(
    private readonly blockSizeBytes: number,
    private readonly pool: BlockPool | null = null,
  ) {
    assert(blockSizeBytes > 0, 'block size');
    assert(pool === null || pool.blockBytes === blockSizeBytes, 'the pool holds blocks of this size');
  }

  get bytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.length;
    return n;
  }

  get chargedBytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.chargedBytes;
    return n;
  }

  /**
   * Writes data at offset (file offsets, inside this chunk). Returns the
   * bytes to charge to the caller's budget: new dirty bytes that no spare
   * capacity (charged earlier, or just now through `reserve`) holds.
   */
  write(offset: number, data: Buffer, nowMs: number, reserve: Reserve = () => false): number {
    assert(data.length > 0, 'empty dirty write');
    const end = offset + data.length;
    // Ranges that overlap or touch [offset, end).
    let first = 0;
    while (first < this.ranges.length && this.ranges[first]!.end < offset) first++;
    let last = first;
    while (last < this.ranges.length && this.ranges[last]!.start <= end) last++;
    const touched = this.ranges.slice(first, last);
    const parts: Part[] = [];
    let charged = 0;
    let pos = offset;
    const firstWriteMs = touched.length > 0 ? Math.min(...touched.map((r) => r.firstWriteMs)) : nowMs;
    const start = Math.min(offset, touched[0]?.start ?? offset);
    const stop = Math.max(end, touched.at(-1)?.end ?? end);
    // Fills [s, e) with fresh bytes: into the spare of the part just before, then a new part.
    const addFresh = (s: number, e: number): void => {
      if (s >= e) return;
      const prev = parts.at(-1);
      if (prev !== undefined && prev.offset + prev.buf.length === s && prev.spare > 0) {
        const n = Math.min(prev.spare, e - s);
        const grown = Buffer.from(prev.buf.buffer, prev.buf.byteOffset, prev.buf.length + n);
        data.copy(grown, prev.buf.length, s - offset, s - offset + n);
        prev.buf = grown;
        prev.spare -= n;
        s += n;
        if (s === e) return;
      }
      const blockEnd = (Math.floor(s / this.blockSizeBytes) + 1) * this.blockSizeBytes;
      // Streaming hints: an append to the range, or a large write at a block
      // start. A small write at a block start (a small file) gets no spare.
      const isAppend = prev !== undefined && prev.offset + prev.buf.length === s;
      const isLargeAtBlockStart = s % this.blockSizeBytes === 0 && (e - s) * 64 >= this.blockSizeBytes;
      const looksSequential = isAppend || isLargeAtBlockStart;
      const extra = blockEnd - e;
      const spare = looksSequential && extra > 0 && reserve(extra) ? extra : 0;
      // Unpooled when there is spare: the spare bytes must belong to this part
      // alone. A whole block (a part from a block start to its end) comes
      // from the block pool.
      const backing =
        spare > 0 ? (this.pool !== null && e - s + spare === this.blockSizeBytes ? this.pool.take() : Buffer.allocUnsafeSlow(e - s + spare)) : Buffer.allocUnsafe(e - s);
      data.copy(backing, 0, s - offset, e - offset);
      parts.push({ offset: s, buf: backing.subarray(0, e - s), spare });
      charged += e - s;
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
    const merged = new DirtyRange(start, stop, parts, firstWriteMs, this.pool);
    merged.checkInvariants();
    this.ranges.splice(first, last - first, merged);
    return charged;
  }

  /** Drops every dirty byte at or past `length` (truncate); returns the charged bytes freed. */
  truncate(length: number): number {
    let freed = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      if (r.start >= length) {
        freed += r.chargedBytes;
        this.ranges.splice(i, 1);
        r.discard();
      } else if (r.end > length) {
        freed += r.dropFrom(length);
      }
    }
    return freed;
  }

  /** Removes and returns range i whole. */
  take(i: number): DirtyRange {
    const [r] = this.ranges.splice(i, 1);
    assert(r !== undefined, 'take of a missing range');
    return r;
  }
}
