/**
 * Names and paths: what a directory entry may be called and how a path
 * from the FUSE layer splits into them.
 */
import { Errno } from '../../src/common/errno.js';

/** NAME_MAX in bytes of UTF-8 (DESIGN §3). */
export const NAME_BYTES_MAX = 255;
/** PATH_MAX, including the terminating NUL in C; we compare without it. */
export const PATH_BYTES_MAX = 4095;
/** Symlink targets are bounded like paths. */
export const SYMLINK_BYTES_MAX = 4095;

/** 0 when `name` may be stored as a dentry name, else ENAMETOOLONG or EINVAL. */
export function checkName(name: string): number {
  if (name.length === 0 || name === '.' || name === '..') return Errno.EINVAL;
  if (name.includes('/') || name.includes('\0')) return Errno.EINVAL;
  if (Buffer.byteLength(name, 'utf8') > NAME_BYTES_MAX) return Errno.ENAMETOOLONG;
  return 0;
}

/**
 * Splits an absolute path into names ("/" → []). Empty components from
 * doubled slashes are dropped; "." is dropped and ".." pops, which only
 * happens for paths we build ourselves (the kernel resolves them).
 */
export function splitPath(path: string): string[] | number {
  if (!path.startsWith('/')) return Errno.EINVAL;
  if (Buffer.byteLength(path, 'utf8') > PATH_BYTES_MAX) return Errno.ENAMETOOLONG;
  const names: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      names.pop();
      continue;
    }
    if (Buffer.byteLength(part, 'utf8') > NAME_BYTES_MAX) return Errno.ENAMETOOLONG;
    names.push(part);
  }
  return names;
}

/** "/a/b/c" → { parent: ["a","b"], name: "c" }; the root has no parent (EINVAL... callers decide). */
export function splitParent(path: string): { parent: string[]; name: string } | number {
  const names = splitPath(path);
  if (typeof names === 'number') return names;
  const name = names.pop();
  if (name === undefined) return Errno.EBUSY;
  return { parent: names, name };
}
