/**
 * The reference RaftStorage: everything in memory (etcd's MemoryStorage).
 * Tests and the simulator use it; the WAL implements the same contract.
 *
 * Layout: `ents[0]` is a dummy entry holding the snapshot's (index, term), so
 * the term of the entry just before the first real one is always known.
 *   firstIndex = ents[0].index + 1, lastIndex = ents[0].index + ents.length - 1.
 *
 * The driver writes here AFTER the data is durable (or, in the simulator,
 * this object IS the durable state), then calls RawNode.advance.
 */
import { assert } from '../../common/assert.js';
import { limitSize } from './raft-log.js';
import {
  CompactedError,
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  type Entry,
  EntryType,
  type HardState,
  type RaftStorage,
  type Snapshot,
  type SnapshotMeta,
  UnavailableError,
} from './types.js';

export class SnapshotOutOfDateError extends Error {
  readonly code = 'CURVEFS_ERR_RAFT_SNAPSHOT_OUT_OF_DATE';
  constructor(index: number, current: number) {
    super(`raft: snapshot at ${index} is older than the current one at ${current}`);
    this.name = 'SnapshotOutOfDateError';
  }
}

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements RaftStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = { meta: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: EMPTY };
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }];

  /** A storage for a brand-new cluster member: the config as if from a snapshot at index 0. */
  static withConfState(cs: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.snap = { meta: { index: 0, term: 0, confState: cs }, data: EMPTY };
    return s;
  }

  /**
   * Storage for an initial member of a new cluster: the configuration is a
   * snapshot at index 1, term 1 (so every initial member starts from the same
   * entry and a member added later, starting empty, receives it through a
   * snapshot that carries the config). `data` is the state machine's empty
   * image at index 1.
   */
  static bootstrap(cs: ConfState, data: Uint8Array): MemoryStorage {
    assert(cs.voters.length > 0, 'memory-storage: bootstrap needs voters');
    const s = new MemoryStorage();
    s.applySnapshot({ meta: { index: 1, term: 1, confState: cs }, data });
    s.hardState = { term: 1, vote: '', commit: 1 };
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.meta.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.ents[0]!.index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index - offset >= this.ents.length) throw new UnavailableError(index, this.lastIndex());
    return this.ents[index - offset]!.term;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snap.meta;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with a snapshot (a follower installing one). */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.meta.index;
    if (current >= snap.meta.index) throw new SnapshotOutOfDateError(snap.meta.index, current);
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: EntryType.Normal, data: EMPTY }];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be
   * applied, hence present in the log). Compaction is separate.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(index, this.snap.meta.index);
    assert(index <= this.lastIndex(), `memory-storage: snapshot ${index} beyond last index ${this.lastIndex()}`);
    const offset = this.ents[0]!.index;
    this.snap = { meta: { index, term: this.ents[index - offset]!.term, confState }, data };
    return this.snap;
  }

  /** Discards entries before compactIndex (keeping it as the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    assert(compactIndex <= this.lastIndex(), `memory-storage: compact ${compactIndex} beyond last ${this.lastIndex()}`);
    const i = compactIndex - offset;
    const dummy: Entry = { term: this.ents[i]!.term, index: compactIndex, type: EntryType.Normal, data: EMPTY };
    this.ents.splice(0, i + 1, dummy);
  }

  /**
   * Appends entries, truncating any conflicting suffix. Entries before the
   * first index (already compacted) are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = ents[0]!.index - this.ents[0]!.index;
    assert(offset <= this.ents.length, `memory-storage: missing log entry [last ${this.lastIndex()}, append at ${ents[0]!.index}]`);
    // Truncate any conflicting suffix in place, then append (no copy of the log).
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }
}
