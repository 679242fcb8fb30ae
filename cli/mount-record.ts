/**
 * A small record a mount leaves while it runs, so tools pointed at a path in
 * the mount (`curvefs info PATH`) find its MDS without being told:
 * `$TMPDIR/curvefs-mounts/<sha1 of the mount point>.json` holding the fs
 * name, the mount point and the MDS addresses (no credentials). Best
 * effort: a mount that cannot write it still mounts; `--mds` overrides it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MountRecord {
  readonly fsName: string;
  readonly mountPoint: string;
  readonly mds: readonly string[];
  readonly pid: number;
}

function recordPath(mountPoint: string): string {
  const digest = createHash('sha1').update(mountPoint).digest('hex');
  return join(tmpdir(), 'curvefs-mounts', `${digest}.json`);
}

export async function writeMountRecord(record: MountRecord): Promise<void> {
  const file = recordPath(record.mountPoint);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, JSON.stringify(record) + '\n');
}

export async function removeMountRecord(mountPoint: string): Promise<void> {
  await rm(recordPath(mountPoint), { force: true });
}

export async function readMountRecord(mountPoint: string): Promise<MountRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(recordPath(mountPoint), 'utf8')) as MountRecord;
    if (typeof parsed.fsName !== 'string' || !Array.isArray(parsed.mds)) return null;
    return parsed;
  } catch {
    return null;
  }
}
