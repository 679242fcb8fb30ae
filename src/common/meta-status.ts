/**
 * Status codes carried in metaserver and MDS replies. Kept in sync with the
 * `MetaStatusCode` enum of src/proto/common.proto (a unit test compares them).
 * An expected file-system outcome is a status value, not an exception.
 */
export enum MetaStatusCode {
  OK = 0,
  UNKNOWN_ERROR = 1,
  PARAM_ERROR = 2,
  NOT_FOUND = 3,
  EXIST = 4,
  NOT_EMPTY = 5,
  NOT_DIR = 6,
  IS_DIR = 7,
  NAME_TOO_LONG = 8,
  REDIRECTED = 9,
  OVERLOAD = 10,
  PARTITION_NOT_FOUND = 11,
  PARTITION_ALLOC_ID_FAIL = 12,
  COPYSET_NOT_FOUND = 13,
  TX_CONFLICT = 14,
  TX_LOCKED = 15,
  VERSION_MISMATCH = 16,
  PERMISSION_DENIED = 17,
  NOT_SUPPORTED = 18,
  NO_SPACE = 19,
  STORAGE_ERROR = 20,
  FS_NOT_FOUND = 21,
  FS_EXIST = 22,
  FS_BUSY = 23,
  NOT_LEADER = 24,
  TIMEOUT = 25,
  INVALID_ARGUMENT = 26,
  NO_DATA = 27,
  RANGE_ERROR = 28,
  UNAVAILABLE = 29,
}
