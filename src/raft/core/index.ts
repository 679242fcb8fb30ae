/**
 * The public surface of the pure Raft core (etcd raft's design, in
 * TypeScript). Drivers (src/raft/node) import from here; the other files are
 * internals with written invariants:
 *
 *   raw-node.ts         RawNode and the Ready contract (persist, send, apply, advance)
 *   raft.ts             the state machine: roles, elections, replication, reads, transfer
 *   raft-log.ts         the log = storage + unstable tail; log-unstable.ts the tail
 *   progress.ts         per-follower progress (probe/replicate/snapshot), inflights.ts flow control
 *   progress-tracker.ts configuration + progress + votes; quorum.ts the majority/joint math
 *   conf-change.ts      applying membership changes (simple, enter/leave joint, restore)
 *   read-only.ts        ReadIndex bookkeeping
 *   memory-storage.ts   the reference RaftStorage
 *   codec.ts            binary encoding of messages, entries, ConfChanges
 *
 * Bootstrapping a group: every initial member starts from the same snapshot
 * at index 1, term 1 holding the initial ConfState (and the state machine's
 * empty image), with hard state {term 1, vote '', commit 1}; see
 * MemoryStorage.bootstrap. A member added later starts with EMPTY storage
 * and no config; it receives the config from the log or a snapshot (the
 * driver sends a snapshot that includes it, see RawNode docs). It never
 * campaigns until it finds itself a voter.
 *
 * Membership changes are applied when the entry is APPLIED
 * (RawNode.applyConfChange), as in etcd. One change may be pending at a
 * time; a leader refuses to remove or demote itself (transfer leadership
 * first); a refused change becomes an empty entry.
 */
export * from './types.js';
export * from './messages.js';
export {
  encodeMessage,
  decodeMessage,
  encodeConfChange,
  decodeConfChange,
  encodeEntries,
  decodeEntries,
  encodeSnapshotMeta,
  decodeSnapshotMeta,
} from './codec.js';
export { MemoryStorage, SnapshotOutOfDateError } from './memory-storage.js';
export { RawNode, type Ready, type Status, type PeerStatus, type RawStepResult } from './raw-node.js';
export { type RaftConfig, type StepResult } from './raft.js';
export { ReadOnlyOption } from './read-only.js';
export { ProgressState } from './progress.js';
