/**
 * Inside the VFS an expected refusal (EACCES, ENOENT...) unwinds as a
 * VfsFailure carrying its errno; the public methods turn it into a Result
 * value at their boundary (`Vfs.run`), so callers never see an exception
 * for a file-system outcome. The errno numbers come from src/common/errno.ts.
 */
import { assert } from '../../src/common/assert.js';

export class VfsFailure extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
    assert(Number.isInteger(errno) && errno > 0, `errno must be positive: ${errno}`);
    this.name = 'VfsFailure';
  }
}

/** Throws VfsFailure(errno) unless errno is 0. */
export function check(errno: number): void {
  if (errno !== 0) throw new VfsFailure(errno);
}

export function failWith(errno: number): never {
  throw new VfsFailure(errno);
}
