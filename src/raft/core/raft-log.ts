/**
 * The log as Raft reasons about it (etcd's log.go): durable entries in
 * RaftStorage followed by the unstable tail.
 *
 *   storage:   [firstIndex ........ storage.lastIndex]
 *   unstable:                        [offset ........ lastIndex]
 *   applied <= committed <= lastIndex
 *
 * Invariants:
 * - applied <= committed (nothing is applied before it is committed);
 * - committed <= lastIndex (a commit index never points past our log);
 * - committed entries are never truncated (asserted in append).
 */
import { assert } from '../../common/assert.js';
import { UnstableLog } from './log-unstable.js';
import { CompactedError, type Entry, entrySizeBytes, type RaftStorage, type SnapshotMeta, UnavailableError } from './types.js';

export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;

  constructor(
    readonly storage: RaftStorage,
    /** Bounds the committed entries handed out in one Ready. */
    readonly maxNextEntriesBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    // Everything before the first index is in the snapshot: committed and applied.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  describe(): string {
    return `committed=${this.committed} applied=${this.applied} unstable.offset=${this.unstable.offset} unstable.len=${this.unstable.entries.length}`;
  }

  /**
   * The follower side of MsgApp: if our entry at `index` has `logTerm`, append
   * `ents` (truncating a conflicting suffix) and move the commit index.
   * Returns the index of the last new entry, or undefined on a mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, `raft-log: entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, `raft-log: append after ${after} is below committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The first entry of ents whose term differs from ours (or that we lack); 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The fast back-off hint: the largest index <= `index` whose term is <=
   * `term`, with that term. Entries after it cannot match a log whose entry
   * at `index` has `term`. A compacted index is returned as a possible match
   * with term 0 (unknown).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const ours = this.tryTerm(i);
      if (ours === undefined) return { index: i, term: 0 };
      if (ours <= term) return { index: i, term: ours };
    }
    return { index: 0, term: 0 };
  }

  /** Unstable entries not yet handed out in a Ready (RawNode accepts them as in progress). */
  unstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  /** Committed entries not yet handed out for applying, bounded in bytes. */
  nextCommittedEntries(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntriesBytes);
    return [];
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return;
    assert(
      toCommit <= this.lastIndex(),
      `raft-log: commit ${toCommit} is out of range [lastIndex ${this.lastIndex()}]; was the log truncated or lost?`,
    );
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(i <= this.committed && i >= this.applied, `raft-log: applied(${i}) outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    const t = this.tryTerm(this.lastIndex());
    assert(t !== undefined, 'raft-log: the last term must be known');
    return t;
  }

  /** The term of entry i, or undefined if it is compacted or beyond the log. */
  tryTerm(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  /** The term of entry i, 0 when unknown (etcd's zeroTermOnErrCompacted). */
  term(i: number): number {
    return this.tryTerm(i) ?? 0;
  }

  /** Entries from i to the end, at most maxBytes (always one if any). Throws CompactedError. */
  entries(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** §5.4.1: is a log ending at (lastIndex, term) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.tryTerm(i) === term;
  }

  /**
   * §5.4.2: only an entry of the leader's current term is committed by
   * counting replicas; earlier entries are committed with it.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: SnapshotMeta): void {
    this.committed = s.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), at most maxBytes (at least one). Throws CompactedError if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const storedHi = Math.min(hi, offset);
      const stored = this.storage.entries(lo, storedHi, maxBytes);
      // The storage hit the byte limit: return what it gave.
      if (stored.length < storedHi - lo) return stored;
      ents = stored;
    }
    if (hi > offset) {
      const tail = this.unstable.slice(Math.max(lo, offset), hi);
      ents = ents.length > 0 ? ents.concat(tail) : tail;
    }
    return limitSize(ents, maxBytes);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    assert(lo <= hi, `raft-log: invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    assert(hi <= this.lastIndex() + 1, `raft-log: slice [${lo},${hi}) beyond last index ${this.lastIndex()}`);
  }
}

/** A prefix of ents within maxBytes, never empty when ents is not. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    size += entrySizeBytes(ents[n]!);
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
