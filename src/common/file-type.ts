/**
 * File types and timestamps as the metadata model stores them (DESIGN §3),
 * shared by the client and the metaserver. FileType's numbers equal the
 * proto enum FsFileType (src/proto/metaserver.proto).
 */
export enum FileType {
  Directory = 1,
  File = 2,
  Symlink = 3,
  Fifo = 4,
  Socket = 5,
  Char = 6,
  Block = 7,
}

export function isFileType(n: number): n is FileType {
  return Number.isInteger(n) && n >= FileType.Directory && n <= FileType.Block;
}

/** A point in time with nanoseconds (the client's clock fills it in requests). */
export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}
