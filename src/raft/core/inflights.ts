/**
 * The in-flight MsgApps to one follower in StateReplicate: flow control.
 *
 * Each entry is (last index of a MsgApp, bytes it carried). The window is
 * full when it holds `countMax` messages or `bytesMax` bytes (bytesMax 0 =
 * no byte limit). Acknowledgements free a prefix (`freeLE`). Indexes added
 * are strictly increasing, so the queue is sorted.
 */
import { assert } from '../../common/assert.js';

export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  /** Position of the first live element (a queue without O(n) shifts). */
  private start = 0;
  private bytes = 0;

  constructor(
    readonly countMax: number,
    readonly bytesMax: number,
  ) {
    assert(countMax > 0, 'inflights: countMax must be positive');
    assert(bytesMax >= 0, 'inflights: bytesMax must be non-negative');
  }

  clone(): Inflights {
    const c = new Inflights(this.countMax, this.bytesMax);
    for (let i = this.start; i < this.indexes.length; i++) c.add(this.indexes[i]!, this.sizes[i]!);
    return c;
  }

  get count(): number {
    return this.indexes.length - this.start;
  }

  get bytesInFlight(): number {
    return this.bytes;
  }

  add(index: number, bytes: number): void {
    assert(!this.isFull(), 'inflights: add to a full window');
    const n = this.indexes.length;
    assert(n === this.start || this.indexes[n - 1]! < index, 'inflights: indexes must increase');
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every in-flight message whose last index is <= to. */
  freeLE(to: number): void {
    while (this.start < this.indexes.length && this.indexes[this.start]! <= to) {
      this.bytes -= this.sizes[this.start]!;
      this.start++;
    }
    this.compact();
  }

  /** Frees the oldest message (a heartbeat response shows the follower is alive). */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.bytes -= this.sizes[this.start]!;
    this.start++;
    this.compact();
  }

  isFull(): boolean {
    return this.count >= this.countMax || (this.bytesMax > 0 && this.bytes >= this.bytesMax);
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.start = 0;
    this.bytes = 0;
  }

  private compact(): void {
    if (this.start === this.indexes.length) {
      this.reset();
    } else if (this.start > 64 && this.start * 2 > this.indexes.length) {
      this.indexes.splice(0, this.start);
      this.sizes.splice(0, this.start);
      this.start = 0;
    }
    assert(this.bytes >= 0, 'inflights: negative byte count');
  }
}
