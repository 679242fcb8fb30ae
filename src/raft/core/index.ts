/**
 * The public surface of the pure Raft core. Drivers (src/raft/node) import
 * from here; the rest of the files are internals with written invariants.
 */
export * from './types.js';
export * from './messages.js';
export { encodeMessage, decodeMessage, encodeConfChange, decodeConfChange, encodeEntries, decodeEntries, encodeSnapshotMeta, decodeSnapshotMeta } from './codec.js';
export { MemoryStorage, SnapshotOutOfDateError } from './memory-storage.js';
export { RawNode, type Ready, type Status, type PeerStatus, type RawStepResult } from './raw-node.js';
export { type RaftConfig, type StepResult } from './raft.js';
export { ReadOnlyOption } from './read-only.js';
export { ProgressState } from './progress.js';
