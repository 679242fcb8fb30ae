/**
 * The tail of the log that is not yet durable (etcd's log_unstable.go):
 * entries appended by this node or received from the leader, and possibly an
 * incoming snapshot, all waiting for the driver to persist them (Ready) and
 * report it (advance).
 *
 * Entries from `offsetInProgress` on have not been handed to the driver yet
 * (etcd's offsetInProgress): those in [offset, offsetInProgress) are being
 * written (a Ready carried them) but are not known durable, so a leader does
 * not count them (see RawNode.advance with `isDurable` false).
 *
 * Invariants:
 * - entries[i].index === offset + i (contiguous);
 * - offset <= offsetInProgress <= offset + entries.length;
 * - if snapshot !== null then snapshot.index + 1 === offset at the time it
 *   was restored (entries after it follow it).
 */
import { assert } from '../../common/assert.js';
import type { Entry, SnapshotMeta } from './types.js';

export class UnstableLog {
  snapshot: SnapshotMeta | null = null;
  entries: Entry[] = [];
  offsetInProgress: number;

  constructor(public offset: number) {
    assert(offset >= 1, 'unstable: offset must be at least 1');
    this.offsetInProgress = offset;
  }

  /** Entries not yet handed to the driver for writing. */
  nextEntries(): Entry[] {
    return this.entries.slice(this.offsetInProgress - this.offset);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress < this.offset + this.entries.length;
  }

  /** Everything held is now being written (a Ready handed it out). */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
  }

  /** The first index if it is known only here (a pending snapshot). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === null ? undefined : this.snapshot.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== null) return this.snapshot.index;
    return undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== null && this.snapshot.index === i) return this.snapshot.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries up to (i, t) are durable: drop them. A term mismatch means they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
      this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== null && this.snapshot.index === i) this.snapshot = null;
  }

  restore(s: SnapshotMeta): void {
    this.offset = s.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    assert(ents.length > 0, 'unstable: append of nothing');
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      // Directly after what we hold.
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable (the stable part is overwritten on persist).
      this.offset = after;
      this.offsetInProgress = after;
      this.entries = [...ents];
    } else {
      // Keep [offset, after) and replace the rest.
      this.entries = this.entries.slice(0, after - this.offset);
      for (const e of ents) this.entries.push(e);
      // A replaced entry that was being written must be written again.
      this.offsetInProgress = Math.min(this.offsetInProgress, after);
    }
    assertContiguous(this.entries, this.offset);
  }

  /** Entries in [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    assert(lo <= hi, `unstable: invalid slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    assert(lo >= this.offset && hi <= upper, `unstable: slice [${lo},${hi}) out of bounds [${this.offset},${upper}]`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

function assertContiguous(ents: readonly Entry[], offset: number): void {
  if (ents.length === 0) return;
  assert(ents[0]!.index === offset, 'unstable: first entry must sit at offset');
  assert(ents[ents.length - 1]!.index === offset + ents.length - 1, 'unstable: entries must be contiguous');
}
