/**
 * Read cache on local disk: fetched objects kept as files, evicted least
 * recently used first within a size limit. Objects are immutable, so a cached
 * file never goes stale; a file with the wrong length (a crash while it was
 * written) is dropped and fetched again. Writes are atomic (temp + rename)
 * but not fsync'd: losing a cache file only costs a refetch.
 */
import { mkdir, readdir, rename, rm, stat, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { assert } from '../../src/common/assert.js';

export class DiskReadCache {
  private readonly index: LRUCache<string, number>;
  private writesInFlight = 0;

  private constructor(
    private readonly dir: string,
    readonly limitBytes: number,
    private readonly writesInFlightMax: number,
  ) {
    this.index = new LRUCache<string, number>({
      maxSize: limitBytes,
      sizeCalculation: (size) => Math.max(1, size),
      dispose: (_size, key, reason) => {
        // 'set' replaces the same immutable file: nothing to remove.
        if (reason !== 'set') void rm(this.path(key), { force: true });
      },
    });
  }

  static async open(dir: string, limitBytes: number, writesInFlightMax = 16): Promise<DiskReadCache> {
    assert(limitBytes > 0, 'disk cache limit must be positive');
    await mkdir(dir, { recursive: true });
    const cache = new DiskReadCache(dir, limitBytes, writesInFlightMax);
    const files: Array<{ name: string; size: number; mtimeMs: number }> = [];
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) {
        await rm(join(dir, name), { force: true });
        continue;
      }
      const s = await stat(join(dir, name)).catch(() => null);
      if (s?.isFile()) files.push({ name, size: s.size, mtimeMs: s.mtimeMs });
    }
    // Oldest first, so the most recently written end up most recently used.
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of files) cache.index.set(decodeURIComponent(f.name), f.size);
    return cache;
  }

  private path(key: string): string {
    return join(this.dir, encodeURIComponent(key));
  }

  get sizeBytes(): number {
    return this.index.calculatedSize;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /**
   * Bytes [offset, offset + length) of a cached object (whole when no range),
   * or null. `alloc` provides the buffer (the caller's pool).
   */
  async read(key: string, range?: { offset: number; length: number }, alloc: (bytes: number) => Buffer = Buffer.allocUnsafe): Promise<Buffer | null> {
    const size = this.index.get(key);
    if (size === undefined) return null;
    const start = range?.offset ?? 0;
    const length = range?.length ?? size;
    if (start + length > size) return null;
    try {
      const handle = await open(this.path(key), 'r');
      try {
        const out = alloc(length);
        const { bytesRead } = await handle.read(out, 0, length, start);
        if (bytesRead !== length || (await handle.stat()).size !== size) {
          this.index.delete(key);
          return null;
        }
        return out;
      } finally {
        await handle.close();
      }
    } catch {
      this.index.delete(key);
      return null;
    }
  }

  /** Drops a cached object (its file is removed by the index's dispose). */
  forget(key: string): void {
    this.index.delete(key);
  }

  /**
   * Adds an object in the background; skipped when too many writes are
   * queued. `done` is called once the cache no longer reads `data` (written,
   * failed or skipped).
   */
  offer(key: string, data: Buffer, done: () => void = () => undefined): void {
    if (this.index.has(key) || this.writesInFlight >= this.writesInFlightMax || data.length > this.limitBytes) {
      done();
      return;
    }
    this.writesInFlight++;
    const temp = `${this.path(key)}.tmp`;
    void writeFile(temp, data)
      .then(() => rename(temp, this.path(key)))
      .then(() => {
        this.index.set(key, data.length);
      })
      .catch(() => rm(temp, { force: true }))
      .finally(() => {
        this.writesInFlight--;
        done();
      });
  }

  /** Waits (bounded) until background writes are done: tests and clean shutdown. */
  async settle(timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.writesInFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
}
