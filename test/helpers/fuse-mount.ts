/**
 * FUSE mount points for tests, with guaranteed unmount.
 *
 * A test mounts a file system (always served by a CHILD process: a process
 * must never touch its own mount with sync fs calls, it would deadlock on
 * itself) on a fresh directory from createMountPoint(), and calls cleanup()
 * in `after`/`finally`. cleanup() unmounts whatever state the server is in:
 *
 *   1. `fusermount -u`            (normal: server alive or dead)
 *   2. `fusermount -u -z`         (lazy: the mount is busy)
 *   3. abort the connection       (/sys/fs/fuse/connections/N/abort: the server
 *                                  hangs; requests blocked on it fail with ENOTCONN)
 *   4. `umount -l`, then throw if anything is still mounted.
 *
 * Every command has a time bound. Mount points left at process exit are
 * lazily unmounted, their connections aborted and their directories removed.
 *
 * fuse-native note for whoever mounts for real: large writes need the mount
 * options smuggled through fsname, e.g.
 *   new Fuse(mnt, ops, { force: true, mkdir: true, fsname: `name,${FUSE_LARGE_IO_OPTIONS}` })
 * (fuse-native has no option for big_writes/max_write; without them the
 * kernel splits writes into 4 KiB requests).
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../../src/common/assert.js';
import { readMounts, readMountsSync, type MountEntry } from './mounts.js';

/** Append to fuse-native's fsname to get 128 KiB FUSE requests (see the module comment). */
export const FUSE_LARGE_IO_OPTIONS = 'big_writes,max_write=131072,max_read=131072';

export const FUSE_CONNECTIONS_DIR = '/sys/fs/fuse/connections';
const COMMAND_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 25;

export interface MountPoint {
  /** Absolute, symlink-free path of a fresh empty directory. */
  readonly path: string;
  /** Unmounts (whatever it takes) and removes the directory; idempotent. */
  cleanup(): Promise<void>;
}

const liveMountPoints = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of liveMountPoints) cleanupSync(dir);
  });
}

function isFuse(entry: MountEntry): boolean {
  return entry.fsType === 'fuse' || entry.fsType.startsWith('fuse.') || entry.fsType === 'fuseblk';
}

/** The FUSE connection number of a mount: its anonymous device's minor (major is 0). */
function connectionIdOf(entry: MountEntry): number | null {
  return isFuse(entry) && entry.major === 0 ? entry.minor : null;
}

/** True when dir is a mount point now (any file system type). */
export async function isMounted(dir: string): Promise<boolean> {
  const root = path.resolve(dir);
  return (await readMounts()).some((m) => m.mountPoint === root);
}

export function isMountedSync(dir: string): boolean {
  const root = path.resolve(dir);
  return readMountsSync().some((m) => m.mountPoint === root);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  assert(timeoutMs > 0, `${what}: timeout`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await delay(POLL_INTERVAL_MS);
  }
}

/** Waits (bounded) until dir is a mount point. */
export function waitForMount(dir: string, timeoutMs: number): Promise<void> {
  return waitUntil(`${dir} was not mounted`, () => isMounted(dir), timeoutMs);
}

/** Waits (bounded) until dir is no longer a mount point. */
export function waitForUnmount(dir: string, timeoutMs: number): Promise<void> {
  return waitUntil(`${dir} was still mounted`, async () => !(await isMounted(dir)), timeoutMs);
}

interface CommandResult {
  readonly ok: boolean;
  readonly detail: string;
}

function run(command: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      const line = `${command} ${args.join(' ')}`;
      if (err === null) resolve({ ok: true, detail: `${line}: ok` });
      else resolve({ ok: false, detail: `${line}: ${String(stderr).trim() || err.message}` });
    });
  });
}

/** Mounts fusectl on /sys/fs/fuse/connections when it is not mounted yet (needs root). */
export async function ensureFuseControl(): Promise<void> {
  const entries = await fs.promises.readdir(FUSE_CONNECTIONS_DIR).catch(() => null);
  if (entries !== null && entries.length > 0) return;
  if ((await readMounts()).some((m) => m.mountPoint === FUSE_CONNECTIONS_DIR)) return;
  const result = await run('mount', ['-t', 'fusectl', 'none', FUSE_CONNECTIONS_DIR]);
  if (!result.ok) throw new Error(`cannot mount fusectl: ${result.detail}`);
}

/** Aborts FUSE connection `id`: every request on it fails at once. False if it no longer exists. */
export async function abortFuseConnection(id: number): Promise<boolean> {
  assert(Number.isInteger(id) && id >= 0, `fuse connection id ${id}`);
  await ensureFuseControl();
  try {
    await fs.promises.writeFile(path.join(FUSE_CONNECTIONS_DIR, String(id), 'abort'), '1');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function fuseConnectionsAt(dir: string): Promise<number[]> {
  const ids: number[] = [];
  for (const entry of await readMounts()) {
    const id = entry.mountPoint === dir ? connectionIdOf(entry) : null;
    if (id !== null) ids.push(id);
  }
  return ids;
}

async function connectionExists(id: number): Promise<boolean> {
  return fs.promises.access(path.join(FUSE_CONNECTIONS_DIR, String(id))).then(
    () => true,
    () => false,
  );
}

/**
 * Unmounts every mount stacked on dir, however stuck its server is; throws
 * (with what each step said) only if dir is still mounted after all steps.
 * Returns the steps taken, for tests and messages.
 */
export async function forceUnmount(dir: string): Promise<string[]> {
  const root = path.resolve(dir);
  const log: string[] = [];
  // Mounts can be stacked; each round removes at least the top one or fails.
  for (let round = 0; round < 4 && (await isMounted(root)); round++) {
    const connections = await fuseConnectionsAt(root);
    const normal = await run('fusermount', ['-u', root]);
    log.push(normal.detail);
    if (normal.ok && !(await isMounted(root))) continue;
    const lazy = await run('fusermount', ['-u', '-z', root]);
    log.push(lazy.detail);
    // Lazy unmount detaches the name at once, but a hung server still holds the
    // connection and every request parked on it: abort makes them fail.
    for (const id of connections) {
      if (await connectionExists(id)) log.push(`abort connection ${id}: ${await abortFuseConnection(id)}`);
    }
    if (await isMounted(root)) log.push((await run('umount', ['-l', root])).detail);
  }
  if (await isMounted(root)) throw new Error(`cannot unmount ${root}:\n  ${log.join('\n  ')}`);
  return log;
}

/** Synchronous last resort for the exit hook: lazy unmount, abort, remove. */
function cleanupSync(dir: string): void {
  try {
    for (let round = 0; round < 4 && isMountedSync(dir); round++) {
      const ids = readMountsSync()
        .filter((m) => m.mountPoint === dir)
        .map(connectionIdOf)
        .filter((id): id is number => id !== null);
      spawnSync('fusermount', ['-u', '-z', dir], { timeout: COMMAND_TIMEOUT_MS, stdio: 'ignore' });
      for (const id of ids) {
        try {
          fs.writeFileSync(path.join(FUSE_CONNECTIONS_DIR, String(id), 'abort'), '1');
        } catch {
          // Gone already, or fusectl not mounted: the lazy unmount stands.
        }
      }
      if (isMountedSync(dir)) spawnSync('umount', ['-l', dir], { timeout: COMMAND_TIMEOUT_MS, stdio: 'ignore' });
    }
    // Never recurse into a directory that is still a mount point.
    if (!isMountedSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // At exit there is no one left to tell; the test itself reported its failure.
  }
  liveMountPoints.delete(dir);
}

/** A fresh empty directory under os.tmpdir() to mount on, with a cleanup() that always unmounts. */
export async function createMountPoint(prefix = 'mnt'): Promise<MountPoint> {
  assert(/^[A-Za-z0-9._-]{1,40}$/.test(prefix), `mount point prefix must be short and plain: ${prefix}`);
  installExitHook();
  const created = await fs.promises.mkdtemp(path.join(os.tmpdir(), `curvefs-${prefix}-`));
  const dir = await fs.promises.realpath(created);
  liveMountPoints.add(dir);
  let isCleanedUp = false;
  return {
    path: dir,
    async cleanup(): Promise<void> {
      if (isCleanedUp) return;
      await forceUnmount(dir);
      assert(!(await isMounted(dir)), `${dir} unmounted before removal`);
      // rmdir, not rm -r: after unmount the directory must be empty again.
      await fs.promises.rmdir(dir).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return;
        if (err.code === 'ENOTEMPTY') return fs.promises.rm(dir, { recursive: true, force: true });
        throw err;
      });
      isCleanedUp = true;
      liveMountPoints.delete(dir);
    },
  };
}

/** Runs fn with a fresh mount point and cleans it up afterwards, also when fn throws. */
export async function withMountPoint<T>(fn: (mountPoint: string) => Promise<T>, prefix = 'mnt'): Promise<T> {
  const mountPoint = await createMountPoint(prefix);
  try {
    return await fn(mountPoint.path);
  } finally {
    await mountPoint.cleanup();
  }
}
