/**
 * The FUSE mount helper with a real fuse-native file system served by a
 * child process (this test process only uses async fs calls on the mount).
 * cleanup() must leave no mount behind whether the server exited cleanly,
 * was killed with SIGKILL, or hangs (SIGSTOP) with a request parked on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  createMountPoint,
  ensureFuseControl,
  FUSE_CONNECTIONS_DIR,
  forceUnmount,
  HELLO_FILE_CONTENT,
  HELLO_FILE_NAME,
  isMounted,
  readMounts,
  spawnProcess,
  startFuseHello,
  waitForMount,
  withMountPoint,
} from '../helpers/index.js';

async function procMountsMentions(dir: string): Promise<boolean> {
  // /proc/self/mounts escapes spaces etc.; our temp paths are plain.
  const text = await fs.promises.readFile('/proc/self/mounts', 'utf8');
  return text.split('\n').some((line) => line.split(' ')[1] === dir);
}

test('fuse: mount in a child, readdir and read through it, SIGKILL the child, cleanup() unmounts', async (t) => {
  const mountPoint = await createMountPoint();
  t.after(() => mountPoint.cleanup());
  assert.equal(await isMounted(mountPoint.path), false);

  const server = await startFuseHello(mountPoint.path);
  t.after(() => server.kill());
  assert.equal(await isMounted(mountPoint.path), true);
  assert.equal(await procMountsMentions(mountPoint.path), true);
  assert.deepEqual(await fs.promises.readdir(mountPoint.path), [HELLO_FILE_NAME]);
  assert.equal(await fs.promises.readFile(path.join(mountPoint.path, HELLO_FILE_NAME), 'utf8'), HELLO_FILE_CONTENT);

  // The connection named by the mount's minor device number is the one abort() would hit.
  await ensureFuseControl();
  const entry = (await readMounts()).find((m) => m.mountPoint === mountPoint.path);
  assert.ok(entry && entry.fsType.startsWith('fuse') && entry.major === 0, `fuse mount entry: ${JSON.stringify(entry)}`);
  assert.ok(fs.existsSync(path.join(FUSE_CONNECTIONS_DIR, String(entry.minor))), 'fusectl lists the connection');

  await server.kill();
  assert.equal(await isMounted(mountPoint.path), true, 'a killed server leaves its mount behind');
  await assert.rejects(fs.promises.readdir(mountPoint.path), /ENOTCONN/);

  await mountPoint.cleanup();
  assert.equal(await isMounted(mountPoint.path), false);
  assert.equal(await procMountsMentions(mountPoint.path), false, 'no mount left in /proc/self/mounts');
  assert.equal(fs.existsSync(mountPoint.path), false, 'mount point removed');
});

test('fuse: cleanup() unmounts a hung server (SIGSTOP) with a readdir parked on it', async (t) => {
  const mountPoint = await createMountPoint();
  t.after(() => mountPoint.cleanup());
  const server = await startFuseHello(mountPoint.path);
  t.after(() => server.kill());

  server.pause();
  // A separate process does the blocking readdir; it parks in the kernel on the frozen server.
  const reader = spawnProcess({ name: 'ls', command: 'ls', args: ['-la', mountPoint.path] });
  t.after(() => reader.kill());
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(reader.isRunning, true, 'readdir hangs on the frozen server');

  const started = Date.now();
  const steps = await forceUnmount(mountPoint.path);
  await mountPoint.cleanup();
  const cleanupMs = Date.now() - started;
  assert.ok(steps.some((step) => /^abort connection \d+: true$/.test(step)), `aborted the connection: ${steps.join(' | ')}`);
  assert.equal(await procMountsMentions(mountPoint.path), false, 'no mount left in /proc/self/mounts');
  const exit = await reader.waitForExit(5_000);
  assert.notEqual(exit.code, 0, 'the parked readdir failed once the connection was aborted');
  assert.ok(cleanupMs < 15_000, `cleanup bounded (${cleanupMs} ms)`);
});

test('fuse: withMountPoint cleans up after a clean server exit and after a throwing body', async () => {
  let seen = '';
  await withMountPoint(async (dir) => {
    seen = dir;
    const server = await startFuseHello(dir);
    try {
      assert.deepEqual(await fs.promises.readdir(dir), [HELLO_FILE_NAME]);
    } finally {
      await server.stop(); // SIGTERM: the child unmounts itself
    }
  });
  assert.equal(await isMounted(seen), false);
  assert.equal(fs.existsSync(seen), false);

  let thrownFrom = '';
  await assert.rejects(
    withMountPoint(async (dir) => {
      thrownFrom = dir;
      const server = await startFuseHello(dir);
      await waitForMount(dir, 5_000);
      await server.kill();
      throw new Error('test body failed');
    }),
    /test body failed/,
  );
  assert.equal(await isMounted(thrownFrom), false, 'unmounted although the body threw');
  assert.equal(fs.existsSync(thrownFrom), false);
});
