/**
 * The in-memory image of the WAL: the snapshot marker, the hard state and the
 * entries after the snapshot. It answers the core's synchronous RaftStorage
 * reads and applies WAL records with the same rules at run time and at replay,
 * so a restarted node rebuilds exactly the log it had.
 *
 * Rules:
 * - An entry at index i <= lastIndex replaces the suffix from i on (a new
 *   leader overwriting a conflicting tail). An entry must never leave a gap,
 *   except while replay is "unanchored" (see below).
 * - A snapshot marker at (index, term): if the log holds that entry with that
 *   term, entries up to it are dropped and the suffix is kept (compaction);
 *   otherwise the whole log is dropped (an installed snapshot replaces it).
 * - The last hard state wins.
 *
 * Unanchored replay: after old segments are deleted, the first kept segment
 * starts with the snapshot marker that was current when it was created, which
 * may be older than entries still referenced; the entries in between lived in
 * deleted segments and are all covered by a later marker. So during replay a
 * gap, or an overwrite reaching back before the first entry held, restarts
 * the log at the new index, older markers are skipped, and
 * `checkAnchored()` at the end verifies that the snapshot covers everything
 * before the first entry.
 *
 * Memory: every entry after the snapshot is kept in memory. That is the
 * design for metadata-sized logs; the node bounds it by snapshotting when
 * `dataBytes()` passes its threshold (RaftNodeOptions.snapshotLogBytes).
 */
import { assert } from '../../common/assert.js';
import { CorruptionError } from '../../common/errors.js';
import type { ConfState, Entry, HardState, RaftStorage, SnapshotMeta } from '../core/types.js';
import { CompactedError, EMPTY_CONF_STATE, EMPTY_HARD_STATE, UnavailableError } from '../core/types.js';

export const EMPTY_SNAPSHOT_META: SnapshotMeta = Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE });

export class MemoryLog implements RaftStorage {
  private snapshot: SnapshotMeta = EMPTY_SNAPSHOT_META;
  private hard: HardState = EMPTY_HARD_STATE;
  /** entries[k].index === snapshot.index + 1 + k (once anchored). */
  private log: Entry[] = [];
  private bytes = 0;
  private anchored = true;

  /** Starts replay mode: gaps restart the log instead of failing. */
  beginReplay(): void {
    this.anchored = false;
  }

  appendEntry(entry: Entry): void {
    assert(Number.isSafeInteger(entry.index) && entry.index > 0, `bad entry index ${entry.index}`);
    assert(Number.isSafeInteger(entry.term) && entry.term > 0, `bad entry term ${entry.term}`);
    const last = this.lastIndex();
    if (entry.index <= this.snapshot.index) {
      // Behind the snapshot: already covered by it. Happens during replay of
      // records written before a later marker; at run time the core never
      // sends these.
      return;
    }
    const isGap = entry.index > last + 1;
    // Unanchored, an overwrite may also reach back before the entries held:
    // the entries it keeps lived in deleted segments (covered by a later marker).
    const isBeforeBase = !this.anchored && entry.index < this.base();
    if (isGap || isBeforeBase) {
      if (this.anchored) {
        throw new CorruptionError(`wal: entry ${entry.index} leaves a gap after last index ${last}`);
      }
      this.dropAll();
      this.log.push(entry);
      this.bytes += entry.data.length;
      this.baseOverride = entry.index;
      return;
    }
    if (entry.index <= last) this.truncateFrom(entry.index);
    this.log.push(entry);
    this.bytes += entry.data.length;
  }

  /** Set only while an unanchored replay restarted the log after a gap. */
  private baseOverride = 0;

  private base(): number {
    return this.baseOverride > 0 ? this.baseOverride : this.snapshot.index + 1;
  }

  private truncateFrom(index: number): void {
    const k = index - this.base();
    assert(k >= 0 && k <= this.log.length, `truncateFrom ${index} outside log`);
    for (let i = k; i < this.log.length; i++) this.bytes -= this.log[i]!.data.length;
    this.log.length = k;
  }

  private dropAll(): void {
    this.log = [];
    this.bytes = 0;
    this.baseOverride = 0;
  }

  setHardState(hs: HardState): void {
    assert(hs.term >= 0 && hs.commit >= 0, 'bad hard state');
    this.hard = hs;
  }

  applySnapshot(meta: SnapshotMeta): void {
    if (meta.index <= this.snapshot.index) {
      // Not newer than the current snapshot: a segment header repeating the
      // marker that was current when the segment was created. Nothing to do.
      assert(!this.anchored || meta.index === this.snapshot.index, `snapshot ${meta.index} older than current ${this.snapshot.index}`);
      return;
    }
    if (!this.anchored && this.baseOverride > 0 && meta.index < this.baseOverride - 1) {
      // Unanchored replay already holds entries after this (older) marker's
      // index; the marker that covers the gap comes later in the stream.
      return;
    }
    const first = this.base();
    const last = first + this.log.length - 1;
    const holds = meta.index >= first && meta.index <= last && this.log[meta.index - first]!.term === meta.term;
    if (holds) {
      const k = meta.index - first + 1;
      for (let i = 0; i < k; i++) this.bytes -= this.log[i]!.data.length;
      this.log = this.log.slice(k);
    } else {
      // The log does not hold the snapshot's last entry (or holds a different
      // one): the snapshot is committed state and replaces the whole log.
      this.dropAll();
    }
    this.baseOverride = 0;
    this.snapshot = meta;
    if (this.log.length > 0) assert(this.log[0]!.index === meta.index + 1, 'snapshot suffix misaligned');
  }

  /** Ends replay; fails if the snapshot does not reach the first kept entry. */
  checkAnchored(): void {
    if (this.baseOverride > 0 && this.baseOverride !== this.snapshot.index + 1) {
      throw new CorruptionError(
        `wal: entries start at ${this.baseOverride} but the snapshot covers only up to ${this.snapshot.index} (missing segment?)`,
      );
    }
    this.baseOverride = 0;
    this.anchored = true;
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }

  confState(): ConfState {
    return this.snapshot.confState;
  }

  /** Bytes of entry payload held in memory (the node snapshots past a threshold). */
  dataBytes(): number {
    return this.bytes;
  }

  entryCount(): number {
    return this.log.length;
  }

  // RaftStorage

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hard, confState: this.snapshot.confState };
  }

  firstIndex(): number {
    return this.snapshot.index + 1;
  }

  lastIndex(): number {
    return this.base() + this.log.length - 1;
  }

  term(index: number): number {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index) throw new CompactedError(index, this.firstIndex());
    const last = this.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    return this.log[index - this.base()]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi, `entries: lo ${lo} > hi ${hi}`);
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const out: Entry[] = [];
    let size = 0;
    const base = this.base();
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - base]!;
      size += e.data.length;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }
}
