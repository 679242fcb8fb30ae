/**
 * Reused block-sized buffers for the data path. A sequential reader or
 * writer moves every byte through one new block buffer per object (a dirty
 * block, a GET body); V8 counts each such ArrayBuffer as external memory and
 * answers the churn with a full mark-compact every few tens of MiB, which was
 * a quarter of the mount's CPU on big sequential I/O. Blocks taken from here
 * come back here instead of to the garbage collector.
 *
 * Ownership is counted per block (its ArrayBuffer): `take` hands out one
 * reference, every further holder that keeps the block across an await
 * `retain`s it and `release`s it when done. A block whose count reaches zero
 * rejoins the free list only at the next macrotask (setImmediate), never at
 * once: a reader whose promise already resolved with a view of the block
 * copies it out in a microtask, before that. Holders that copy synchronously
 * (or in the microtasks after the resolution) need no reference. A missed
 * release only loses the block to the garbage collector (the count lives in a
 * WeakMap); an extra release would hand a block out twice, so each holder
 * releases exactly what it retained.
 */
import { assert } from '../../src/common/assert.js';

export class BlockPool {
  private readonly free: Buffer[] = [];
  private readonly refs = new WeakMap<ArrayBufferLike, number>();
  private returning: ArrayBufferLike[] = [];
  private isReturnScheduled = false;
  private taken = 0;
  private reused = 0;

  constructor(
    readonly blockBytes: number,
    /** Free blocks kept at most (the rest go to the garbage collector). */
    readonly freeMax: number,
  ) {
    assert(Number.isSafeInteger(blockBytes) && blockBytes > 0, 'pool block size');
    assert(Number.isSafeInteger(freeMax) && freeMax >= 0, 'pool free limit');
  }

  /** A block of blockBytes (contents undefined) with one reference held by the caller. */
  take(): Buffer {
    this.taken++;
    let block = this.free.pop();
    if (block === undefined) block = Buffer.allocUnsafeSlow(this.blockBytes);
    else this.reused++;
    this.refs.set(block.buffer, 1);
    return block;
  }

  /** A buffer of `bytes`: a pooled block when it is exactly a block, else a new unpooled one. */
  alloc(bytes: number): Buffer {
    return bytes === this.blockBytes ? this.take() : Buffer.allocUnsafeSlow(bytes);
  }

  /** Whether `view` (or the block it is a view of) is a live pooled block. */
  owns(view: Uint8Array): boolean {
    return (this.refs.get(view.buffer) ?? 0) > 0;
  }

  /** One more holder of the block `view` lies in; a no-op for memory that is not pooled. */
  retain(view: Uint8Array): void {
    const n = this.refs.get(view.buffer);
    if (n === undefined) return;
    assert(n > 0, 'retain of a pooled block that was already given back');
    this.refs.set(view.buffer, n + 1);
  }

  /** A holder is done with the block; a no-op for memory that is not pooled. */
  release(view: Uint8Array): void {
    const n = this.refs.get(view.buffer);
    if (n === undefined) return;
    assert(n > 0, 'release of a pooled block that was already given back');
    if (n > 1) {
      this.refs.set(view.buffer, n - 1);
      return;
    }
    this.refs.set(view.buffer, 0);
    this.returning.push(view.buffer);
    if (!this.isReturnScheduled) {
      this.isReturnScheduled = true;
      setImmediate(() => this.returnReleased());
    }
  }

  private returnReleased(): void {
    this.isReturnScheduled = false;
    const blocks = this.returning;
    this.returning = [];
    for (const ab of blocks) {
      // Retained again meanwhile (never by rule, but cheap to respect): not free.
      if (this.refs.get(ab) !== 0) continue;
      this.refs.delete(ab);
      if (this.free.length < this.freeMax) this.free.push(Buffer.from(ab, 0, this.blockBytes));
    }
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Blocks handed out, and how many of them were reused rather than allocated. */
  get stats(): { taken: number; reused: number } {
    return { taken: this.taken, reused: this.reused };
  }
}
