/**
 * The operator's tools against a running local cluster: `curvefs status`
 * (text and --json with the leader at mds.leader), `curvefs fs
 * create|list|info|delete` including their refusals (duplicate name,
 * unknown fs, deleting a mounted fs, bad block size), each a separate CLI
 * process as an operator would run it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMountPoint, makeTempDir, startProcess, type ProcessHandle } from '../helpers/index.js';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = path.join(root, 'bin', 'curvefs.js');

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('CURVEFS_')) env[key] = value;
  return env;
}

async function curvefs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: cleanEnv(), timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('status and fs commands against a running local cluster', { timeout: 120_000 }, async (t) => {
  const work = await makeTempDir('cli-tools');
  const mount = await createMountPoint('cli-tools-mnt');
  let cluster: ProcessHandle | null = null;
  t.after(async () => {
    await cluster?.stop().catch(() => undefined);
    await mount.cleanup();
    await work.remove();
  });
  cluster = await startProcess({
    name: 'curvefs local up',
    command: process.execPath,
    args: [bin, 'local', 'up', '--mount', mount.path, '--data', path.join(work.path, 'data'), '--log-level', 'warn'],
    env: cleanEnv(),
    ready: { kind: 'line', pattern: /^ready: .*, mds 127\.0\.0\.1:\d+$/m },
    readyTimeoutMs: 45_000,
  });
  const mds = /mds (127\.0\.0\.1:\d+)/.exec(cluster.stdoutTail())![1]!;

  const status = await curvefs(['status', '--mds', mds, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as {
    mds: { leader: string };
    metaservers: { state: string; zone: string }[];
    copysets: { leader: string; peers: string[] }[];
    fileSystems: { name: string; mounts: string[] }[];
  };
  assert.equal(report.mds.leader, mds);
  assert.equal(report.metaservers.filter((m) => m.state === 'online').length, 3);
  assert.equal(new Set(report.metaservers.map((m) => m.zone)).size, 3, 'three zones');
  assert.ok(report.copysets.length >= 1);
  for (const copyset of report.copysets) assert.equal(copyset.peers.length, 3);
  const fsDefault = report.fileSystems.find((f) => f.name === 'default');
  assert.ok(fsDefault && fsDefault.mounts.length === 1, 'default is listed with its mount');
  const text = await curvefs(['status', '--mds', mds]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`mds leader: ${mds.replace(/\./g, '\\.')}`));

  const list = await curvefs(['fs', 'list', '--mds', mds]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^default\tid \d+\tmounts 1$/m);

  const info = await curvefs(['fs', 'info', 'default', '--mds', mds]);
  assert.equal(info.code, 0);
  assert.match(info.stdout, /block size: 4194304/);

  const duplicate = await curvefs(['fs', 'create', 'default', '--mds', mds, '--local-dir', path.join(work.path, 'o2')]);
  assert.notEqual(duplicate.code, 0);
  assert.match(duplicate.stderr, /FS_EXIST/);

  const unknown = await curvefs(['fs', 'info', 'nope', '--mds', mds]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /FS_NOT_FOUND|NOT_FOUND/);

  const busy = await curvefs(['fs', 'delete', 'default', '--mds', mds]);
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, /FS_BUSY/);

  const badBlock = await curvefs(['fs', 'create', 'odd', '--mds', mds, '--block-size', '3000', '--local-dir', path.join(work.path, 'o3')]);
  assert.notEqual(badBlock.code, 0);
  assert.match(badBlock.stderr, /PARAM_ERROR|block/i);

  const created = await curvefs(['fs', 'create', 'second', '--mds', mds, '--local-dir', path.join(work.path, 'o4')]);
  assert.equal(created.code, 0, created.stderr);
  const deleted = await curvefs(['fs', 'delete', 'second', '--mds', mds]);
  assert.equal(deleted.code, 0, deleted.stderr);
  const afterDelete = await curvefs(['fs', 'list', '--mds', mds, '--json']);
  assert.deepEqual((JSON.parse(afterDelete.stdout) as { fsName: string }[]).map((f) => f.fsName), ['default']);

  const unreachable = await curvefs(['status', '--mds', '127.0.0.1:1']);
  assert.notEqual(unreachable.code, 0, 'a dead MDS is an error');
});
