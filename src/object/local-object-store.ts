/**
 * ObjectStore on a local directory: the embedded default. A key maps to a
 * file path (its '/'-separated parts become directories). Writes are atomic
 * and durable: temp file, fsync, rename, fsync of the directory, so a crash
 * leaves either no object or the whole object, never a torn one.
 */
import { open, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assert } from '../common/assert.js';
import { StorageError } from '../common/errors.js';
import { LIST_LIMIT_MAX, type BodyAllocator, type ByteRange, type ListPage, type ObjectInfo, type ObjectStore } from './object-store.js';

const TEMP_SUFFIX = '.tmp-';

function checkKey(key: string): void {
  const parts = key.split('/');
  const ok = key.length > 0 && parts.every((p) => p.length > 0 && p !== '.' && p !== '..' && !p.includes(TEMP_SUFFIX));
  if (!ok) throw new StorageError(`invalid object key '${key}'`);
}

function isEnoent(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ENOENT';
}

export class LocalObjectStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local:${root}`;
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.path(key);
    const dir = dirname(path);
    const created = await mkdir(dir, { recursive: true });
    // A new directory is durable only once its parent's entry is synced.
    if (created !== undefined) await syncCreatedDirs(dirname(created), dir);
    const temp = `${path}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
    try {
      const handle = await open(temp, 'w');
      try {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await handle.write(data, written, data.length - written);
          written += bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await syncDir(dir);
    } catch (error) {
      await rm(temp, { force: true });
      throw new StorageError(`put ${key}: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(key: string, range?: ByteRange, alloc?: BodyAllocator): Promise<Buffer> {
    const path = this.path(key);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isEnoent(error)) throw new StorageError(`no such object ${key}`, { notFound: true });
      throw new StorageError(`get ${key}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const size = (await handle.stat()).size;
      const start = range === undefined ? 0 : Math.min(range.offset, size);
      const end = range === undefined ? size : Math.min(size, range.offset + range.length);
      const out = range === undefined && alloc !== undefined ? alloc(end - start) : Buffer.allocUnsafe(end - start);
      assert(out.length === end - start, 'a body buffer of the length asked for');
      let got = 0;
      while (got < out.length) {
        const { bytesRead } = await handle.read(out, got, out.length - got, start + got);
        assert(bytesRead > 0, `object ${key} shrank while being read`);
        got += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    try {
      const s = await stat(this.path(key));
      return { key, sizeBytes: s.size };
    } catch (error) {
      if (isEnoent(error)) throw new StorageError(`no such object ${key}`, { notFound: true });
      throw new StorageError(`head ${key}: ${(error as Error).message}`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (error) {
      if (!isEnoent(error)) throw new StorageError(`delete ${key}: ${(error as Error).message}`, { cause: error });
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const batch = 64;
    for (let i = 0; i < keys.length; i += batch) {
      await Promise.all(keys.slice(i, i + batch).map((k) => this.delete(k)));
    }
  }

  /**
   * Walks the directory tree in key order. Directories that cannot hold the
   * prefix are skipped, so listing one inode's objects reads one directory.
   */
  async list(prefix: string, cursor?: string | null, limit = LIST_LIMIT_MAX): Promise<ListPage> {
    assert(limit > 0 && limit <= LIST_LIMIT_MAX, 'list limit out of range');
    const objects: ObjectInfo[] = [];
    const after = cursor ?? '';
    const walk = async (dirKey: string): Promise<boolean> => {
      let entries;
      try {
        entries = await readdir(dirKey === '' ? this.root : join(this.root, ...dirKey.split('/')), { withFileTypes: true });
      } catch (error) {
        if (isEnoent(error)) return true;
        throw new StorageError(`list ${prefix}: ${(error as Error).message}`, { cause: error });
      }
      // Sort by the key each entry yields ('a/' sorts as a key prefix 'a/').
      const named = entries
        .filter((e) => !e.name.includes(TEMP_SUFFIX))
        .map((e) => ({ e, key: dirKey === '' ? e.name : `${dirKey}/${e.name}` }))
        .sort((a, b) => cmp(a.e.isDirectory() ? `${a.key}/` : a.key, b.e.isDirectory() ? `${b.key}/` : b.key));
      for (const { e, key } of named) {
        if (e.isDirectory()) {
          const dirPrefix = `${key}/`;
          const canHold = dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix);
          const pastCursor = after === '' || dirPrefix > after || after.startsWith(dirPrefix);
          if (canHold && pastCursor && !(await walk(key))) return false;
        } else if (e.isFile() && key.startsWith(prefix) && key > after) {
          if (objects.length === limit) return false;
          const s = await stat(join(this.root, ...key.split('/'))).catch(() => null);
          if (s !== null) objects.push({ key, sizeBytes: s.size });
        }
      }
      return true;
    };
    const complete = await walk('');
    const last = objects.at(-1);
    return { objects, cursor: complete || last === undefined ? null : last.key };
  }

  async close(): Promise<void> {}
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function syncCreatedDirs(top: string, leaf: string): Promise<void> {
  const dirs: string[] = [];
  for (let d = leaf; d !== top && d.length > top.length; d = dirname(d)) dirs.push(dirname(d));
  for (const d of dirs) await syncDir(d);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
