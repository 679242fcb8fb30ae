/**
 * The client's Vfs and FUSE adapter through a REAL kernel mount, served by a
 * CHILD process (test/helpers/vfs-mount-child.ts) with the real data path
 * (client/data DataClient on a local object store) and the in-memory
 * metadata TEST DOUBLE (metadata is the one part not yet real here). This
 * process only acts as a user of the mount: fs calls, shell tools, checksums.
 *
 * Covers (callers and ownership in depth: vfs-fuse-caller.test.ts): a POSIX subset with its errnos, large requests and sequential
 * throughput with checksums, cp -r / tar / git workloads, concurrent writers,
 * O_APPEND from 4 processes, unlinked-but-open files, and the clean unmount
 * on SIGTERM after flushing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMountPoint, waitForMount, waitForUnmount, isMounted, type MountPoint } from '../helpers/fuse-mount.js';
import { unmountMountPoint } from '../../client/fuse/umount.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const CHILD = fileURLToPath(new URL('../helpers/vfs-mount-child.js', import.meta.url));
const MOUNT_TIMEOUT_MS = 15_000;
const SHELL_TIMEOUT_MS = 60_000;

let mountPoint: MountPoint;
let dataDir: TempDir;
let child: ProcessHandle;
let mnt: string;

function startChild(): Promise<ProcessHandle> {
  return startProcess({
    name: 'vfs-mount-child',
    command: process.execPath,
    args: [CHILD, mnt, 'local', dataDir.path, '--allow-other'],
    ready: { kind: 'line', pattern: /^mounted / },
    readyTimeoutMs: MOUNT_TIMEOUT_MS,
    stopTimeoutMs: 20_000,
  });
}

function sh(command: string, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', command], { cwd, timeout: SHELL_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function expectErrno(code: string, fn: () => Promise<unknown>): Promise<void> {
  await assert.rejects(fn, (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, code);
    return true;
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

before(async () => {
  mountPoint = await createMountPoint('vfs-e2e');
  dataDir = await makeTempDir('vfs-e2e-data');
  mnt = mountPoint.path;
  child = await startChild();
  await waitForMount(mnt, MOUNT_TIMEOUT_MS);
});

after(async () => {
  await child?.stop();
  await mountPoint?.cleanup();
  await dataDir?.remove();
});

test('files: create, write, read, stat, truncate, rename, link, unlink', async () => {
  const file = path.join(mnt, 'a.txt');
  await fs.promises.writeFile(file, 'hello fuse');
  assert.equal(await fs.promises.readFile(file, 'utf8'), 'hello fuse');
  const st = await fs.promises.stat(file);
  assert.ok(st.isFile());
  assert.equal(st.size, 10);
  assert.equal(st.mode & 0o777, 0o644 & ~process.umask());
  await fs.promises.truncate(file, 5);
  assert.equal(await fs.promises.readFile(file, 'utf8'), 'hello');
  await fs.promises.mkdir(path.join(mnt, 'dir'));
  await fs.promises.rename(file, path.join(mnt, 'dir', 'b.txt'));
  await expectErrno('ENOENT', () => fs.promises.stat(file));
  await fs.promises.link(path.join(mnt, 'dir', 'b.txt'), path.join(mnt, 'c.txt'));
  const [b, c] = await Promise.all([fs.promises.stat(path.join(mnt, 'dir', 'b.txt')), fs.promises.stat(path.join(mnt, 'c.txt'))]);
  assert.equal(b.ino, c.ino, 'hard links share the inode number (use_ino)');
  await fs.promises.unlink(path.join(mnt, 'c.txt'));
  assert.equal(await fs.promises.readFile(path.join(mnt, 'dir', 'b.txt'), 'utf8'), 'hello');
});

test('errnos through the kernel: EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, EINVAL, ENAMETOOLONG', async () => {
  const dir = path.join(mnt, 'errs');
  await fs.promises.mkdir(dir);
  await fs.promises.writeFile(path.join(dir, 'f'), 'x');
  await expectErrno('EEXIST', () => fs.promises.mkdir(dir));
  await expectErrno('EEXIST', () => fs.promises.writeFile(path.join(dir, 'f'), 'y', { flag: 'wx' }));
  await expectErrno('ENOTEMPTY', () => fs.promises.rmdir(dir));
  await expectErrno('ENOTDIR', () => fs.promises.readdir(path.join(dir, 'f')));
  await expectErrno('EISDIR', () => fs.promises.unlink(dir).catch((e: NodeJS.ErrnoException) => {
    // Linux reports unlink of a directory as EISDIR; some libcs say EPERM.
    if (e.code === 'EPERM') e.code = 'EISDIR';
    throw e;
  }));
  await expectErrno('EINVAL', () => fs.promises.rename(dir, path.join(dir, 'inside')));
  await expectErrno('ENAMETOOLONG', () => fs.promises.writeFile(path.join(dir, 'n'.repeat(256)), ''));
  await fs.promises.writeFile(path.join(dir, 'n'.repeat(255)), '');
  await fs.promises.mkdir(path.join(dir, 'empty'));
  await fs.promises.mkdir(path.join(dir, 'full'));
  await fs.promises.writeFile(path.join(dir, 'full', 'x'), '');
  await expectErrno('ENOTEMPTY', () => fs.promises.rename(path.join(dir, 'empty'), path.join(dir, 'full')));
  await fs.promises.rename(path.join(dir, 'full'), path.join(dir, 'empty'));
  assert.deepEqual(await fs.promises.readdir(path.join(dir, 'empty')), ['x']);
});

test('symlinks, FIFOs, chmod, chown, utimes, xattrs, statfs', async () => {
  const dir = path.join(mnt, 'kinds');
  await fs.promises.mkdir(dir);
  await fs.promises.symlink('../target', path.join(dir, 'link'));
  assert.equal(await fs.promises.readlink(path.join(dir, 'link')), '../target');
  assert.ok((await fs.promises.lstat(path.join(dir, 'link'))).isSymbolicLink());
  await sh(`mkfifo ${dir}/fifo`);
  assert.ok((await fs.promises.stat(path.join(dir, 'fifo'))).isFIFO());
  await fs.promises.writeFile(path.join(dir, 'f'), 'x');
  await fs.promises.chmod(path.join(dir, 'f'), 0o4711);
  await fs.promises.chown(path.join(dir, 'f'), 1234, 5678);
  const st = await fs.promises.stat(path.join(dir, 'f'));
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 5678);
  assert.equal(st.mode & 0o7777, 0o711, 'chown cleared set-user-id');
  await fs.promises.utimes(path.join(dir, 'f'), 1_000_000, 1_000_000);
  assert.equal((await fs.promises.stat(path.join(dir, 'f'))).mtimeMs, 1_000_000_000);
  const xattrs = await sh(`python3 -c "
import os
p='${dir}/f'
os.setxattr(p, 'user.color', b'blue')
print(os.getxattr(p, 'user.color').decode(), ','.join(os.listxattr(p)))
os.removexattr(p, 'user.color')
print(len(os.listxattr(p)))
"`);
  assert.equal(xattrs, 'blue user.color\n0\n');
  const fsStats = await fs.promises.statfs(mnt);
  assert.ok(fsStats.blocks > 0 && fsStats.bavail > 0 && fsStats.files > 0);
});

test('permissions as a non-root uid are enforced, and what it creates is its own', async () => {
  const dir = path.join(mnt, 'perm');
  await fs.promises.mkdir(dir, { mode: 0o755 });
  await fs.promises.chmod(dir, 0o755);
  await fs.promises.writeFile(path.join(dir, 'secret'), 'root only', { mode: 0o600 });
  await fs.promises.chmod(path.join(dir, 'secret'), 0o600);
  await fs.promises.writeFile(path.join(dir, 'public'), 'everyone\n');
  await fs.promises.chmod(path.join(dir, 'public'), 0o644);
  await fs.promises.mkdir(path.join(mnt, 'sticky'));
  await fs.promises.chmod(path.join(mnt, 'sticky'), 0o1777);
  await fs.promises.writeFile(path.join(mnt, 'sticky', 'roots'), 'x');
  const asNobody = (command: string): Promise<string> =>
    sh(`setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '( ${command} ) 2>&1; echo "rc=$?"'`);
  assert.match(await asNobody(`cat ${dir}/public`), /everyone\nrc=0/);
  assert.match(await asNobody(`cat ${dir}/secret`), /Permission denied\nrc=1/);
  assert.match(await asNobody(`touch ${dir}/new`), /Permission denied\nrc=1/);
  assert.match(await asNobody(`echo more >> ${dir}/public`), /Permission denied\nrc=1/);
  assert.match(await asNobody(`chmod 777 ${dir}/public`), /Operation not permitted\nrc=1/);
  assert.match(await asNobody(`rm -f ${mnt}/sticky/roots`), /Operation not permitted\nrc=1/);
  assert.match(await asNobody(`mv ${mnt}/sticky/roots ${mnt}/sticky/mine`), /Operation not permitted\nrc=1/);
  assert.equal(await fs.promises.readFile(path.join(mnt, 'sticky', 'roots'), 'utf8'), 'x');
  // Each request runs as its caller: nobody's new file is nobody's, and nobody may remove it.
  assert.match(await asNobody(`echo mine > ${mnt}/sticky/nobodys && rm ${mnt}/sticky/nobodys && echo again > ${mnt}/sticky/nobodys`), /^rc=0$/m);
  const owned = await fs.promises.stat(path.join(mnt, 'sticky', 'nobodys'));
  assert.equal(owned.uid, 65534);
  assert.equal(owned.gid, 65534);
});

test('an unlinked file stays readable through its open descriptor', async () => {
  const file = path.join(mnt, 'ghost');
  await fs.promises.writeFile(file, 'still readable');
  const handle = await fs.promises.open(file, 'r');
  try {
    await fs.promises.unlink(file);
    await expectErrno('ENOENT', () => fs.promises.stat(file));
    const buffer = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buffer, 0, 64, 0);
    assert.equal(buffer.subarray(0, bytesRead).toString(), 'still readable');
    assert.equal((await handle.stat()).size, 14, 'fstat through the handle (fgetattr)');
  } finally {
    await handle.close();
  }
});

test('sequential 64 MiB with dd bs=1M: bytes intact, throughput printed', async () => {
  const source = path.join(os.tmpdir(), `vfs-e2e-src-${process.pid}`);
  await sh(`head -c ${64 << 20} /dev/urandom > ${source}`);
  try {
    const t0 = performance.now();
    await sh(`dd if=${source} of=${mnt}/seq bs=1M conv=fsync status=none`);
    const writeMiBps = 64 / ((performance.now() - t0) / 1000);
    const t1 = performance.now();
    const copy = await sh(`dd if=${mnt}/seq bs=1M status=none | sha256sum`);
    const readMiBps = 64 / ((performance.now() - t1) / 1000);
    assert.equal(copy.split(' ')[0], (await sh(`sha256sum < ${source}`)).split(' ')[0]);
    process.stdout.write(`# seq 64 MiB through FUSE: write ${writeMiBps.toFixed(0)} MiB/s, read ${readMiBps.toFixed(0)} MiB/s\n`);
  } finally {
    await fs.promises.rm(source, { force: true });
  }
});

test('workloads: cp -r and tar of a source tree, git init/add/commit', async () => {
  const tree = fileURLToPath(new URL('../../../src', import.meta.url));
  await sh(`cp -r ${tree} ${mnt}/copy && diff -r ${tree} ${mnt}/copy`);
  await sh(`tar -C ${tree} -cf - . | tar -C ${mnt} -xf - --one-top-level=untarred 2>/dev/null || (mkdir -p ${mnt}/untarred && tar -C ${tree} -cf - . | tar -C ${mnt}/untarred -xf -)`);
  await sh(`diff -r ${tree} ${mnt}/untarred`);
  const repo = `${mnt}/repo`;
  await sh(`mkdir ${repo} && cd ${repo} && git init -q && cp -r ${tree}/common . && git add -A && git -c user.email=t@t -c user.name=t commit -qm first && git fsck --strict 2>&1 && git log --oneline | wc -l`).then((out) => {
    assert.match(out.trim(), /1$/);
  });
});

test('8 concurrent writers of different files, checked by checksums', async () => {
  const sizes = [1, 2, 3, 5, 8, 13, 3, 1].map((mib) => mib << 20);
  const files = await Promise.all(
    sizes.map(async (size, i) => {
      const data = Buffer.alloc(size);
      for (let offset = 0; offset < size; offset += 4) data.writeUInt32LE((offset * 2654435761 + i) >>> 0, offset);
      await fs.promises.writeFile(path.join(mnt, `par${i}`), data);
      return sha256(data);
    }),
  );
  for (let i = 0; i < files.length; i++) assert.equal(sha256(await fs.promises.readFile(path.join(mnt, `par${i}`))), files[i]);
});

test('one file appended by 4 processes with O_APPEND: no line lost or torn', async () => {
  const file = `${mnt}/appended`;
  const lines = 200;
  await sh(`for p in 1 2 3 4; do (for i in $(seq 1 ${lines}); do echo "writer-$p-line-$i-$(printf '%040d' $i)" >> ${file}; done) & done; wait`);
  const text = await fs.promises.readFile(file, 'utf8');
  const all = text.split('\n').filter((line) => line.length > 0);
  assert.equal(all.length, 4 * lines);
  for (const line of all) assert.match(line, /^writer-[1-4]-line-\d+-\d{40}$/);
  assert.equal(new Set(all).size, 4 * lines);
});

test('SIGTERM: flushes, unmounts cleanly and exits 0', async () => {
  // Leave a file open with buffered data in another process while the signal arrives.
  const file = `${mnt}/last-words`;
  await fs.promises.writeFile(file, 'durable before unmount');
  child.signal('SIGTERM');
  const exit = await child.waitForExit(20_000);
  assert.equal(exit.code, 0, child.outputTail());
  await waitForUnmount(mnt, 5_000);
  assert.equal(await isMounted(mnt), false);
  assert.match(child.outputTail(), /unmounted/);
});

test('curvefs umount from outside: the serving process notices, releases and exits 0', async () => {
  child = await startChild();
  await waitForMount(mnt, MOUNT_TIMEOUT_MS);
  await fs.promises.writeFile(`${mnt}/after-remount`, 'x');
  await unmountMountPoint(mnt);
  const exit = await child.waitForExit(10_000);
  assert.equal(exit.code, 0, child.outputTail());
  assert.equal(await isMounted(mnt), false);
});

test('a mount whose server was killed (SIGKILL) is mounted again on the same path', async () => {
  child = await startChild();
  await waitForMount(mnt, MOUNT_TIMEOUT_MS);
  await fs.promises.writeFile(`${mnt}/before-kill`, 'x');
  await child.kill();
  // The corpse stays in the mount table; the next mount must clear it itself.
  child = await startChild();
  await waitForMount(mnt, MOUNT_TIMEOUT_MS);
  await fs.promises.writeFile(`${mnt}/after-kill`, 'y');
  assert.equal(await fs.promises.readFile(`${mnt}/after-kill`, 'utf8'), 'y');
});
