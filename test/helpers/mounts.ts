/**
 * Reads this process's mount table (/proc/self/mountinfo).
 *
 * mountinfo rather than /proc/self/mounts because it also carries each mount's
 * device number: for a FUSE mount the minor number names its connection in
 * /sys/fs/fuse/connections, which is how a hung connection is aborted. Both
 * files list the same mounts. Reading procfs never touches a mounted file
 * system, so the sync read is safe even while a FUSE server is stuck.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../../src/common/assert.js';

export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  readonly major: number;
  readonly minor: number;
}

/** Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    assert(separator > 0 && fields.length >= separator + 3, `malformed mountinfo line: ${line}`);
    const [majorText, minorText] = fields[2]!.split(':');
    const major = Number(majorText);
    const minor = Number(minorText);
    assert(Number.isInteger(major) && Number.isInteger(minor), `mountinfo device: ${fields[2]}`);
    entries.push({
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[separator + 1]!,
      source: unescapeMountField(fields[separator + 2]!),
      major,
      minor,
    });
  }
  return entries;
}

export function readMountsSync(): MountEntry[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await fs.promises.readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points equal to dir or below it (dir must be absolute and resolved). */
export function mountsAtOrBelowSync(dir: string): string[] {
  assert(path.isAbsolute(dir), `mount lookups need an absolute path: ${dir}`);
  const root = path.resolve(dir);
  return readMountsSync()
    .map((m) => m.mountPoint)
    .filter((p) => p === root || p.startsWith(root + path.sep));
}
