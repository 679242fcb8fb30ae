/** The Raft write-ahead log: segment files, group commit, torn-tail recovery. */
export { Wal, WAL_SEGMENT_BYTES_DEFAULT } from './wal.js';
export type { LogWriter, WalOptions, WalStats, TailTruncation } from './wal.js';
export { MemoryLog, EMPTY_SNAPSHOT_META } from './memory-log.js';
export { crc32c } from './crc32c.js';
export { encodeRecord, encodeRecords, scanRecords, RecordType, RECORD_HEADER_BYTES } from './record-codec.js';
export type { WalRecord, ScanResult, ScanStop } from './record-codec.js';
