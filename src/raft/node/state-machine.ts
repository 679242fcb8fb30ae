/**
 * What a Raft group replicates. The node driver calls these in log order,
 * never concurrently with each other.
 *
 * - `apply(entries)`: committed entries, in index order, each with the bytes
 *   that were proposed (`data`), its `index` and `term`. Returns one result
 *   per entry (handed to the proposer's promise on the node that proposed
 *   it). Must be deterministic: every replica applies the same entries. The
 *   leader's empty no-op entries are not passed in.
 * - `snapshot(meta)`: called between applies; it must capture the state as
 *   of `meta.index` (the last applied entry) before it returns (e.g. freeze
 *   or copy), and may then stream that image lazily.
 * - `restore(chunks, meta)`: replaces the whole state with the image of a
 *   snapshot taken at `meta.index` (on restart, or installed from a leader).
 */
import type { Entry, SnapshotMeta } from '../core/types.js';

export interface StateMachine<R = unknown> {
  apply(entries: readonly Entry[]): readonly R[] | Promise<readonly R[]>;
  snapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array>;
  restore(chunks: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void>;
}
