/**
 * `curvefs fsck` and `curvefs info` end to end on `curvefs local up` (a real
 * MDS, three metaserver processes running their data services, a FUSE
 * mount), driven only through the mount and the CLI:
 *  - small fsync'd overwrites fragment a file; compaction (running during
 *    the writes) keeps it at or under its threshold of 20 records (info), content unchanged;
 *  - files created and removed leave no object; fsck reports 0 orphans and
 *    0 missing on its last line;
 *  - a planted orphan object is reported, `--repair` deletes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { objectKey } from '../../src/layout/object-key.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { createMountPoint, isMounted, makeTempDir, startProcess, type ProcessHandle } from '../helpers/index.js';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = path.join(root, 'bin', 'curvefs.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function curvefs(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, [bin, ...args], { timeout: 30_000, maxBuffer: 16 << 20 });
    return { stdout, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; code?: number; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { stdout: e.stdout ?? '', code: e.code };
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

function parseInfo(text: string): { records: number; objects: number } {
  const m = /^info: (\d+) records, (\d+) objects$/.exec(lastLine(text));
  assert.ok(m !== null, `info's last line: ${lastLine(text)}`);
  return { records: Number(m[1]), objects: Number(m[2]) };
}

function parseFsck(text: string): { objects: number; orphans: number; missing: number } {
  const m = /^fsck: (\d+) objects, (\d+) orphans, (\d+) missing$/.exec(lastLine(text));
  assert.ok(m !== null, `fsck's last line: ${lastLine(text)}`);
  return { objects: Number(m[1]), orphans: Number(m[2]), missing: Number(m[3]) };
}

test('local up: compaction seen by curvefs info, deletion and orphans by curvefs fsck', { timeout: 85_000 }, async (t) => {
  const work = await makeTempDir('fsck-e2e');
  const mount = await createMountPoint('fsck-e2e-mnt');
  const dataDir = path.join(work.path, 'data');
  let cluster: ProcessHandle | null = null;
  t.after(async () => {
    await cluster?.stop().catch(() => undefined);
    await mount.cleanup();
    await work.remove();
  });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('CURVEFS_')) env[key] = value;
  // Fast data services: the metaservers inherit these.
  Object.assign(env, { CURVEFS_DATA_INTERVAL: '300ms', CURVEFS_DATA_GRACE: '1s', CURVEFS_UNLINK_GRACE: '500ms' });
  cluster = await startProcess({
    name: 'curvefs local up',
    command: process.execPath,
    args: [bin, 'local', 'up', '--mount', mount.path, '--data', dataDir, '--log-level', 'warn'],
    env,
    ready: { kind: 'line', pattern: /^ready: fs default mounted at .*, mds (127\.0\.0\.1:\d+)$/m },
    readyTimeoutMs: 45_000,
    stopTimeoutMs: 20_000,
  });
  assert.ok(await isMounted(mount.path));
  const mds = /mds (127\.0\.0\.1:\d+)/.exec(cluster.stdoutTail())?.[1];
  assert.ok(mds !== undefined, 'local up names its MDS');
  const started = performance.now();
  const mark = (step: string): void => t.diagnostic(`${step}: ${Math.round(performance.now() - started)} ms`);

  // Fragment a file: 150 fsync'd 4 KiB overwrites of a 2 MiB file.
  const file = path.join(mount.path, 'fragmented');
  const model = Buffer.alloc(2 << 20, 5);
  await writeFile(file, model);
  const fh = await open(file, 'r+');
  for (let i = 0; i < 150; i++) {
    const off = ((i * 7919) % 512) * 4096;
    const page = Buffer.alloc(4096, (i % 200) + 10);
    page.copy(model, off);
    await fh.write(page, 0, page.length, off);
    await fh.sync();
  }
  await fh.close();
  mark('fragmented');
  const digest = createHash('sha256').update(model).digest('hex');
  let info = parseInfo((await curvefs('info', file)).stdout);
  // The metaservers compact while the writes go on (every 300 ms here), so how fragmented
  // the file still is at this point varies; the integration tests pin the 10x figure.
  t.diagnostic(`info right after the writes: ${JSON.stringify(info)}`);
  assert.ok(info.records >= 1 && info.objects >= 1);
  // 151 records without compaction; it keeps a chunk at or below its threshold (20).
  for (let i = 0; i < 30 && info.records > 20; i++) {
    await sleep(300);
    info = parseInfo((await curvefs('info', file, '--mds', mds)).stdout);
  }
  t.diagnostic(`info after: ${JSON.stringify(info)}`);
  assert.ok(info.records <= 20, `compacted (${info.records} records)`);
  assert.equal(createHash('sha256').update(await readFile(file)).digest('hex'), digest, 'same content after compaction');
  mark('compacted');

  // Create and remove files through the mount.
  for (let i = 0; i < 200; i++) await writeFile(path.join(mount.path, `tmp-${i}`), Buffer.alloc(1000 + i, i));
  for (let i = 0; i < 200; i++) await rm(path.join(mount.path, `tmp-${i}`));
  mark('created and removed');
  let report = parseFsck((await curvefs('fsck', 'default', '--mds', mds)).stdout);
  // What is left: the objects the fragmented file references (info counted them).
  const kept = parseInfo((await curvefs('info', file, '--mds', mds)).stdout).objects;
  for (let i = 0; i < 40 && (report.orphans > 0 || report.objects !== kept); i++) {
    await sleep(500);
    report = parseFsck((await curvefs('fsck', 'default', '--mds', mds)).stdout);
  }
  t.diagnostic(`fsck: ${JSON.stringify(report)}`);
  assert.deepEqual(report, { objects: kept, orphans: 0, missing: 0 }, 'only the compacted file is left');
  mark('fsck clean');

  // A planted orphan: reported, then deleted by --repair.
  const store = new LocalObjectStore(path.join(dataDir, 'objects'));
  const orphan = objectKey('data', { fsId: 1, inodeId: 900_000, chunkId: 1, blockIndex: 0, compaction: 0 });
  await store.put(orphan, Buffer.alloc(10));
  const found = await curvefs('fsck', 'default', '--mds', mds);
  assert.ok(found.stdout.includes(`orphan ${orphan}`), found.stdout);
  assert.deepEqual(parseFsck(found.stdout), { objects: kept + 1, orphans: 1, missing: 0 });
  const repaired = await curvefs('fsck', 'default', '--mds', mds, '--repair');
  assert.ok(repaired.stdout.includes('fsck: deleted 1 orphans'), repaired.stdout);
  assert.deepEqual(parseFsck((await curvefs('fsck', 'default', '--mds', mds)).stdout), { objects: kept, orphans: 0, missing: 0 });
  await store.close();
  mark('repair');
});
