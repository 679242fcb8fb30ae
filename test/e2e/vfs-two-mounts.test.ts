/**
 * Two FUSE mounts of one file system in two CHILD processes, on REAL
 * metadata: a third child runs an embedded MDS and three metaservers
 * (test/helpers/vfs-cluster-child.ts); each mount child uses the real
 * MetaClient and the real data path on the fs's local object store.
 *
 * Checks close-to-open (writes closed on one mount are read on the other),
 * that a rename, unlink or chmod on one is seen on the other within the
 * cache TTL (1 s; polled with a bound), O_EXCL across mounts, a POSIX subset
 * on real metadata, a remount that finds everything, and clean unmounts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMountPoint, waitForMount, waitForUnmount, type MountPoint } from '../helpers/fuse-mount.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const CLUSTER_CHILD = fileURLToPath(new URL('../helpers/vfs-cluster-child.js', import.meta.url));
const MOUNT_CHILD = fileURLToPath(new URL('../helpers/vfs-mount-child.js', import.meta.url));
const FS_NAME = 'twomounts';
const START_TIMEOUT_MS = 40_000;
/** The client and kernel TTL is 1 s; allow scheduling slack, never unbounded. */
const PROPAGATION_TIMEOUT_MS = 4_000;

let dataDir: TempDir;
let cluster: ProcessHandle;
let mds: string;
const mountPoints: MountPoint[] = [];
const mounts: ProcessHandle[] = [];
let a: string;
let b: string;

async function startMount(mountPoint: string): Promise<ProcessHandle> {
  const child = await startProcess({
    name: `mount ${path.basename(mountPoint)}`,
    command: process.execPath,
    args: [MOUNT_CHILD, mountPoint, 'cluster', mds, FS_NAME],
    ready: { kind: 'line', pattern: /^mounted / },
    readyTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: 20_000,
  });
  await waitForMount(mountPoint, START_TIMEOUT_MS);
  return child;
}

/** Polls `check` until it holds or the bound passes; returns how long it took. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 400; i++) {
    if (await check().catch(() => false)) return performance.now() - started;
    if (performance.now() - started > PROPAGATION_TIMEOUT_MS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} not seen within ${PROPAGATION_TIMEOUT_MS} ms`);
}

const exists = (p: string): Promise<boolean> => fs.promises.stat(p).then(() => true, () => false);

before(async () => {
  dataDir = await makeTempDir('vfs-two-mounts');
  cluster = await startProcess({
    name: 'metadata cluster',
    command: process.execPath,
    args: [CLUSTER_CHILD, dataDir.path, FS_NAME],
    ready: { kind: 'line', pattern: /^ready mds=/ },
    readyTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: 20_000,
  });
  mds = /ready mds=(\S+)/.exec(cluster.outputTail())![1]!;
  for (const prefix of ['mount-a', 'mount-b']) mountPoints.push(await createMountPoint(prefix));
  a = mountPoints[0]!.path;
  b = mountPoints[1]!.path;
  mounts.push(await startMount(a), await startMount(b));
});

after(async () => {
  for (const mount of mounts) await mount.stop().catch(() => undefined);
  for (const mountPoint of mountPoints) await mountPoint.cleanup();
  await cluster?.stop();
  await dataDir?.remove();
});

test('close-to-open: a file written and closed on A is read whole on B', async () => {
  const data = randomBytes(9 << 20);
  await fs.promises.writeFile(path.join(a, 'shared.bin'), data);
  const read = await fs.promises.readFile(path.join(b, 'shared.bin'));
  assert.equal(createHash('sha256').update(read).digest('hex'), createHash('sha256').update(data).digest('hex'));
  // Overwrite in place on B; A sees the new bytes on its next open.
  const handle = await fs.promises.open(path.join(b, 'shared.bin'), 'r+');
  await handle.write(Buffer.from('PATCHED'), 0, 7, 4096);
  await handle.close();
  const again = await fs.promises.readFile(path.join(a, 'shared.bin'));
  assert.equal(again.subarray(4096, 4103).toString(), 'PATCHED');
  assert.equal(again.length, data.length);
});

test('a small file written and closed on A: B sees its bytes and the mtime/ctime of the write (committed with the data)', async () => {
  const file = (root: string): string => path.join(root, 'small-times');
  const beforeNs = BigInt(Date.now() - 1_000) * 1_000_000n;
  await fs.promises.writeFile(file(a), Buffer.alloc(16_384, 7));
  const onA = await fs.promises.stat(file(a), { bigint: true });
  const onB = await fs.promises.stat(file(b), { bigint: true });
  assert.equal(onB.size, 16_384n);
  assert.equal(onB.mtimeNs, onA.mtimeNs);
  assert.equal(onB.ctimeNs, onA.ctimeNs);
  assert.equal(onA.mtimeNs, onA.ctimeNs, 'a write sets ctime with mtime');
  assert.ok(onA.mtimeNs >= beforeNs && onA.mtimeNs <= BigInt(Date.now() + 1_000) * 1_000_000n, 'the mtime is the time of the write');
  assert.deepEqual(await fs.promises.readFile(file(b)), Buffer.alloc(16_384, 7));
  // Rewritten in place on A later: B, which has it cached, sees the new bytes and the newer time together.
  await new Promise((r) => setTimeout(r, 20));
  const handle = await fs.promises.open(file(a), 'r+');
  await handle.write(Buffer.from('NEW'), 0, 3, 100);
  await handle.close();
  const rewritten = await fs.promises.stat(file(a), { bigint: true });
  assert.ok(rewritten.mtimeNs > onA.mtimeNs, 'the rewrite moved mtime forward');
  await eventually('the rewrite time', async () => (await fs.promises.stat(file(b), { bigint: true })).mtimeNs === rewritten.mtimeNs);
  const afterOnB = await fs.promises.stat(file(b), { bigint: true });
  assert.equal(afterOnB.ctimeNs, rewritten.ctimeNs);
  assert.equal((await fs.promises.readFile(file(b))).subarray(100, 103).toString(), 'NEW');
});

test('rename, chmod and unlink on A are seen on B within the cache TTL', async () => {
  await fs.promises.writeFile(path.join(a, 'moving'), 'm');
  assert.ok(await exists(path.join(b, 'moving')));
  await fs.promises.rename(path.join(a, 'moving'), path.join(a, 'moved'));
  const renameMs = await eventually('rename', async () => !(await exists(path.join(b, 'moving'))) && (await exists(path.join(b, 'moved'))));
  await fs.promises.chmod(path.join(a, 'moved'), 0o600);
  const chmodMs = await eventually('chmod', async () => ((await fs.promises.stat(path.join(b, 'moved'))).mode & 0o777) === 0o600);
  await fs.promises.unlink(path.join(a, 'moved'));
  const unlinkMs = await eventually('unlink', async () => !(await exists(path.join(b, 'moved'))));
  process.stdout.write(`# seen on the other mount after: rename ${renameMs.toFixed(0)} ms, chmod ${chmodMs.toFixed(0)} ms, unlink ${unlinkMs.toFixed(0)} ms\n`);
});

test('atomic save on A (write a temporary file, rename it over): an open on B sees the new file', async () => {
  await fs.promises.writeFile(path.join(a, 'doc.txt'), 'version one');
  assert.equal(await fs.promises.readFile(path.join(b, 'doc.txt'), 'utf8'), 'version one');
  await fs.promises.writeFile(path.join(a, 'doc.txt.tmp'), 'version two, which is longer');
  await fs.promises.rename(path.join(a, 'doc.txt.tmp'), path.join(a, 'doc.txt'));
  assert.equal(await fs.promises.readFile(path.join(b, 'doc.txt'), 'utf8'), 'version two, which is longer');
});

test('O_EXCL is exclusive across mounts (lock files)', async () => {
  // B looks first, so its caches hold a negative entry for the name.
  assert.equal(await exists(path.join(b, 'index.lock')), false);
  await fs.promises.writeFile(path.join(a, 'index.lock'), 'A', { flag: 'wx' });
  await assert.rejects(fs.promises.writeFile(path.join(b, 'index.lock'), 'B', { flag: 'wx' }), { code: 'EEXIST' });
  assert.equal(await fs.promises.readFile(path.join(b, 'index.lock'), 'utf8'), 'A');
});

test('POSIX subset on real metadata: dirs, links, rename over file and empty dir, symlink, truncate', async () => {
  const root = path.join(a, 'posix');
  await fs.promises.mkdir(root);
  await fs.promises.mkdir(path.join(root, 'd1'));
  await fs.promises.mkdir(path.join(root, 'd2'));
  await fs.promises.writeFile(path.join(root, 'd1', 'f'), 'one');
  await fs.promises.writeFile(path.join(root, 'd2', 'g'), 'two');
  await assert.rejects(fs.promises.rmdir(path.join(root, 'd1')), { code: 'ENOTEMPTY' });
  await fs.promises.link(path.join(root, 'd1', 'f'), path.join(root, 'd2', 'hard'));
  assert.equal((await fs.promises.stat(path.join(root, 'd1', 'f'))).nlink, 2);
  await fs.promises.rename(path.join(root, 'd1', 'f'), path.join(root, 'd2', 'g'));
  assert.equal(await fs.promises.readFile(path.join(root, 'd2', 'g'), 'utf8'), 'one');
  await fs.promises.mkdir(path.join(root, 'd3'));
  await fs.promises.rename(path.join(root, 'd1'), path.join(root, 'd3'));
  assert.deepEqual((await fs.promises.readdir(root)).sort(), ['d2', 'd3']);
  assert.equal((await fs.promises.stat(root)).nlink, 4);
  await assert.rejects(fs.promises.rename(root, path.join(root, 'd3', 'inside')), { code: 'EINVAL' });
  await fs.promises.symlink('d2/g', path.join(root, 'sl'));
  assert.equal(await fs.promises.readFile(path.join(root, 'sl'), 'utf8'), 'one');
  await fs.promises.truncate(path.join(root, 'd2', 'g'), 1);
  assert.equal(await fs.promises.readFile(path.join(b, 'posix', 'd2', 'hard'), 'utf8'), 'o', 'through the hard link, on the other mount');
});

test('fsync then SIGKILL of the mount: the fsync\'d data is there after a remount', async () => {
  const data = randomBytes(5 << 20);
  const handle = await fs.promises.open(path.join(a, 'fsynced.bin'), 'w');
  await handle.write(data, 0, data.length, 0);
  await handle.sync();
  // Kill the server while the descriptor is still open: no flush on close will come.
  const killed = mounts.shift()!;
  await killed.kill();
  await handle.close().catch(() => undefined);
  mounts.unshift(await startMount(a));
  const read = await fs.promises.readFile(path.join(a, 'fsynced.bin'));
  assert.equal(read.length, data.length);
  assert.ok(read.equals(data));
  assert.ok((await fs.promises.readFile(path.join(b, 'fsynced.bin'))).equals(data), 'and on the other mount');
});

test('a remount finds everything; SIGTERM unmounts both cleanly', async () => {
  const content = randomBytes(3 << 20);
  await fs.promises.writeFile(path.join(a, 'persist.bin'), content);
  for (const mount of mounts.splice(0)) {
    mount.signal('SIGTERM');
    const exit = await mount.waitForExit(20_000);
    assert.equal(exit.code, 0, mount.outputTail());
  }
  await waitForUnmount(a, 5_000);
  await waitForUnmount(b, 5_000);
  mounts.push(await startMount(b));
  assert.ok((await fs.promises.readFile(path.join(b, 'persist.bin'))).equals(content));
  assert.deepEqual((await fs.promises.readdir(path.join(b, 'posix'))).sort(), ['d2', 'd3', 'sl']);
});
