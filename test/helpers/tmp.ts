/**
 * Fresh temporary directories under os.tmpdir() for tests, removed at the end.
 *
 * Each directory is removed by its `remove()` (call it from `after`/`finally`);
 * whatever a test forgot is removed when the test process exits. A directory
 * that has a mount at or below it is never removed recursively here: deleting
 * through a live FUSE mount would delete the mounted file system's files, or
 * hang on a stuck server. fuse-mount.ts unmounts first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../../src/common/assert.js';
import { mountsAtOrBelowSync } from './mounts.js';

export interface TempDir {
  /** Absolute, symlink-free path of the new, empty directory. */
  readonly path: string;
  /** Removes the directory and everything in it; idempotent. */
  remove(): Promise<void>;
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: rmSync is fine here (no FUSE mount below, checked).
  process.on('exit', () => {
    for (const dir of live) removeSyncIfUnmounted(dir);
  });
}

function removeSyncIfUnmounted(dir: string): void {
  if (mountsAtOrBelowSync(dir).length > 0) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // Best effort at exit: a leftover temp dir must not turn a passing run into a crash.
  }
  live.delete(dir);
}

function assertPrefix(prefix: string): void {
  assert(/^[A-Za-z0-9._-]{1,40}$/.test(prefix), `temp dir prefix must be short and plain: ${prefix}`);
}

/** Creates a fresh directory `<tmpdir>/curvefs-<prefix>-XXXXXX`. */
export async function makeTempDir(prefix = 'test'): Promise<TempDir> {
  assertPrefix(prefix);
  installExitHook();
  const created = await fs.promises.mkdtemp(path.join(os.tmpdir(), `curvefs-${prefix}-`));
  // realpath: /proc/self/mounts and child processes see the resolved path.
  const dir = await fs.promises.realpath(created);
  live.add(dir);
  let removed = false;
  return {
    path: dir,
    async remove(): Promise<void> {
      if (removed) return;
      const mounts = mountsAtOrBelowSync(dir);
      if (mounts.length > 0) {
        throw new Error(`refusing to remove ${dir}: still mounted at ${mounts.join(', ')}`);
      }
      await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 2 });
      removed = true;
      live.delete(dir);
    },
  };
}

/** Runs fn with a fresh temp dir and removes it afterwards, also when fn throws. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'test'): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir.path);
  } finally {
    await dir.remove();
  }
}
