/**
 * `curvefs local up`, the README's first command, end to end on a real FUSE
 * mount: the CLI runs as a child process (MDS + 3 metaservers as its own
 * children, the mount in the CLI process); this test drives the mount only
 * through other processes (shell tools) and async fs calls.
 *
 * Workloads are checked by checksums and diffs against the local disk:
 * tar extraction of a source tree, git init/add/commit, cp -r, 8 concurrent
 * writers, one file appended by 4 processes with O_APPEND. Then durability:
 * a clean stop and restart keeps everything; a SIGKILL after fsync keeps the
 * fsync'd data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMountPoint, isMounted, makeTempDir, startProcess, waitForUnmount, type ProcessHandle } from '../helpers/index.js';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = path.join(root, 'bin', 'curvefs.js');
const STEP_TIMEOUT_MS = 60_000;

function sh(script: string, cwd?: string): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['-euo', 'pipefail', '-c', script], { cwd, timeout: STEP_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function localUp(mountPoint: string, dataDir: string): Promise<ProcessHandle> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('CURVEFS_')) env[key] = value;
  const handle = await startProcess({
    name: 'curvefs local up',
    command: process.execPath,
    args: [bin, 'local', 'up', '--mount', mountPoint, '--data', dataDir, '--log-level', 'warn'],
    env,
    ready: { kind: 'line', pattern: /^ready: fs default mounted at .*, mds 127\.0\.0\.1:\d+$/m },
    readyTimeoutMs: 45_000,
    stopTimeoutMs: 20_000,
  });
  assert.ok(await isMounted(mountPoint), 'mounted once ready');
  return handle;
}

test('local up: workloads through the mount, clean restart, SIGKILL after fsync', { timeout: 300_000 }, async (t) => {
  const work = await makeTempDir('local-up');
  const mount = await createMountPoint('local-up-mnt');
  const dataDir = path.join(work.path, 'data');
  const scratch = path.join(work.path, 'scratch');
  await mkdir(scratch);
  let cluster: ProcessHandle | null = null;
  t.after(async () => {
    await cluster?.stop().catch(() => undefined);
    await mount.cleanup();
    await work.remove();
  });
  const mnt = mount.path;
  const started = performance.now();
  const mark = (step: string): void => t.diagnostic(`${step}: ${Math.round(performance.now() - started)} ms`);
  cluster = await localUp(mnt, dataDir);
  mark('up');

  // Files of assorted sizes across block boundaries, checked by checksum.
  const files = new Map<string, string>();
  for (const size of [0, 1, 4095, 4096, 131_072 + 7, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024]) {
    const data = randomBytes(size);
    const name = `f-${size}`;
    await writeFile(path.join(mnt, name), data);
    files.set(name, sha256(data));
  }
  for (const [name, digest] of files) assert.equal(sha256(await readFile(path.join(mnt, name))), digest, name);
  mark('files');

  // A frozen copy of a source tree (the project's own) is the reference.
  const tree = path.join(scratch, 'tree');
  await sh(`mkdir ${tree} && cp -r ${root}/src ${root}/cli ${tree}/`);

  // tar of the tree extracted in the mount equals the original.
  await sh(`tar -C ${tree} -cf ${scratch}/src.tar src cli`);
  mark('tar');
  await sh(`mkdir ${mnt}/untar && tar -C ${mnt}/untar -xf ${scratch}/src.tar && diff -r ${tree} ${mnt}/untar`);
  mark('untar');

  // cp -r, then diff.
  await sh(`cp -r ${tree}/src ${mnt}/copy && diff -r ${tree}/src ${mnt}/copy`);
  mark('cp -r');

  // git init, add, commit, and git's own consistency check.
  await sh(
    `cd ${mnt} && mkdir repo && cd repo && git init -q && cp -r ${tree}/src/common . && git add -A && ` +
      `git -c user.name=t -c user.email=t@example.com commit -qm first && git fsck --strict 2>&1 && git log --oneline | grep -q first`,
  );

  mark('git');
  // 8 concurrent writers of different files.
  await sh(`for i in $(seq 1 8); do head -c $((3 * 1024 * 1024 + i * 4099)) /dev/urandom > ${scratch}/w$i; done`);
  await sh(`for i in $(seq 1 8); do cp ${scratch}/w$i ${mnt}/w$i & done; wait; for i in $(seq 1 8); do cmp ${scratch}/w$i ${mnt}/w$i; done`);

  mark('8 writers');
  // One file appended by 4 processes with O_APPEND (>> opens with O_APPEND).
  await sh(`for p in 1 2 3 4; do (for i in $(seq 1 100); do echo "p$p line $i" >> ${mnt}/appended; done) & done; wait`);
  const lines = (await readFile(path.join(mnt, 'appended'), 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 400);
  for (let p = 1; p <= 4; p++) {
    const own = lines.filter((line) => line.startsWith(`p${p} `));
    assert.deepEqual(own, Array.from({ length: 100 }, (_, i) => `p${p} line ${i + 1}`), `process ${p}'s lines in order`);
  }

  mark('append');
  // Clean stop and restart with the same data directory: everything is there.
  await cluster.stop();
  cluster = null;
  await waitForUnmount(mnt, 20_000);
  cluster = await localUp(mnt, dataDir);
  for (const [name, digest] of files) assert.equal(sha256(await readFile(path.join(mnt, name))), digest, `${name} after restart`);
  await sh(`diff -r ${tree} ${mnt}/untar && diff -r ${tree}/src ${mnt}/copy && cmp ${scratch}/w8 ${mnt}/w8`);
  await sh(`cd ${mnt}/repo && git log --oneline | grep -q first && git status --porcelain | wc -l | grep -qx 0`);

  mark('restart');
  // SIGKILL right after fsync: the fsync'd data survives.
  const synced = randomBytes(5 * 1024 * 1024 + 3);
  await writeFile(path.join(scratch, 'synced'), synced);
  await sh(`dd if=${scratch}/synced of=${mnt}/synced bs=1M conv=fsync status=none`);
  await cluster.kill();
  cluster = null;
  // Its MDS and metaservers stop when their supervisor's pipe closes; the restart reuses their ports.
  cluster = await localUp(mnt, dataDir);
  assert.equal(sha256(await readFile(path.join(mnt, 'synced'))), sha256(synced), 'fsync-ed data after SIGKILL');
  assert.equal(sha256(await readFile(path.join(mnt, 'f-9437184'))), files.get('f-9437184'));
  await cluster.stop();
  cluster = null;
});
