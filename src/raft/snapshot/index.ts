/** Snapshot files: save from a chunk stream, read back verified, receive with resume. */
export { SnapshotStore, SnapshotReceiver, SNAPSHOT_CHUNK_BYTES_DEFAULT } from './snapshot-store.js';
export type { SnapshotInfo, SnapshotStoreOptions } from './snapshot-store.js';
