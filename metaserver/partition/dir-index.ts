/**
 * The entries of one directory in name order: a sorted array of sorted
 * blocks (a two-level B-tree). Lookup is two binary searches (O(log n));
 * insert and delete shift at most one block (≤ BLOCK_MAX entries); a page
 * of a listing resumes after the last name returned. A million-entry
 * directory costs ~4,000 blocks and no per-entry node objects, which keeps
 * memory per dentry close to the Dentry record itself.
 *
 * Names compare as JS strings (UTF-16 code units): any total order works for
 * pagination as long as every replica uses the same one.
 *
 * Invariants: every block is non-empty and sorted; the last name of block i
 * is below the first name of block i+1; `size` is the sum of block lengths.
 */
import { assert } from '../../src/common/assert.js';
import type { Dentry } from './types.js';

/** A block splits in two when it would exceed this many entries. */
export const BLOCK_MAX = 256;

export class DirIndex {
  private readonly blocks: Dentry[][] = [];
  private entryCount = 0;
  /** Copy-on-write mark of the snapshot session holding this directory (snapshot-codec.ts). */
  snapshotEpoch = 0;

  get size(): number {
    return this.entryCount;
  }

  get(name: string): Dentry | undefined {
    const b = this.blockFor(name);
    if (b < 0) return undefined;
    const block = this.blocks[b]!;
    const i = searchBlock(block, name);
    return i < block.length && block[i]!.name === name ? block[i] : undefined;
  }

  /** Inserts or replaces the entry named `dentry.name`; returns the replaced one. */
  set(dentry: Dentry): Dentry | undefined {
    if (this.blocks.length === 0) {
      this.blocks.push([dentry]);
      this.entryCount = 1;
      return undefined;
    }
    let b = this.blockFor(dentry.name);
    if (b < 0) b = this.blocks.length - 1; // after every name: append to the last block
    const block = this.blocks[b]!;
    const i = searchBlock(block, dentry.name);
    if (i < block.length && block[i]!.name === dentry.name) {
      const old = block[i]!;
      block[i] = dentry;
      return old;
    }
    block.splice(i, 0, dentry);
    this.entryCount += 1;
    if (block.length > BLOCK_MAX) {
      const half = block.length >>> 1;
      this.blocks.splice(b + 1, 0, block.splice(half));
    }
    return undefined;
  }

  delete(name: string): Dentry | undefined {
    const b = this.blockFor(name);
    if (b < 0) return undefined;
    const block = this.blocks[b]!;
    const i = searchBlock(block, name);
    if (i >= block.length || block[i]!.name !== name) return undefined;
    const [old] = block.splice(i, 1);
    this.entryCount -= 1;
    if (block.length === 0) {
      this.blocks.splice(b, 1);
    } else if (b + 1 < this.blocks.length && block.length + this.blocks[b + 1]!.length <= BLOCK_MAX >>> 1) {
      // Merge sparse neighbours so a directory emptied in the middle keeps few blocks.
      block.push(...this.blocks[b + 1]!);
      this.blocks.splice(b + 1, 1);
    }
    assert(old !== undefined, 'deleted entry exists');
    return old;
  }

  /**
   * Up to `count` entries with names strictly after `after` ("" = from the
   * start), in name order; `filter` skips entries without counting them.
   * `scanMax` bounds the entries examined (a filtered list of a huge
   * directory returns a short page rather than scanning everything).
   */
  list(after: string, count: number, filter?: (d: Dentry) => boolean, scanMax = Infinity): Dentry[] {
    assert(count >= 0, 'count is not negative');
    const out: Dentry[] = [];
    if (count === 0 || this.blocks.length === 0) return out;
    let b = after === '' ? 0 : this.blockFor(after);
    if (b < 0) return out;
    let i = after === '' ? 0 : searchBlock(this.blocks[b]!, after);
    if (after !== '' && i < this.blocks[b]!.length && this.blocks[b]![i]!.name === after) i += 1;
    let scanned = 0;
    while (b < this.blocks.length && out.length < count && scanned < scanMax) {
      const block = this.blocks[b]!;
      for (; i < block.length && out.length < count && scanned < scanMax; i++) {
        scanned += 1;
        const d = block[i]!;
        if (filter === undefined || filter(d)) out.push(d);
      }
      b += 1;
      i = 0;
    }
    return out;
  }

  *entries(): IterableIterator<Dentry> {
    for (const block of this.blocks) yield* block;
  }

  /** Checks the structural invariants (tests and snapshots). */
  checkInvariants(): void {
    let total = 0;
    let previous: string | undefined;
    for (const block of this.blocks) {
      assert(block.length > 0, 'no empty blocks');
      assert(block.length <= BLOCK_MAX, 'block within bound');
      for (const d of block) {
        assert(previous === undefined || previous < d.name, `names strictly increase: ${previous} < ${d.name}`);
        previous = d.name;
      }
      total += block.length;
    }
    assert(total === this.entryCount, 'entry count matches');
  }

  /** Index of the first block whose last name is ≥ name, or -1 if every name is below it. */
  private blockFor(name: string): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      if (block[block.length - 1]!.name < name) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.blocks.length ? lo : -1;
  }
}

/** Index of the first entry with name ≥ `name`. */
function searchBlock(block: readonly Dentry[], name: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (block[mid]!.name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
