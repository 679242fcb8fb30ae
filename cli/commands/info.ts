/**
 * `curvefs info PATH [--mds ADDRS]` (as `juicefs info`): for a file in a
 * mounted fs, its inode, length, and per chunk the count of chunk-info
 * records and of objects they reference. The last line reads
 * `info: <n> records, <n> objects`.
 *
 * The mount is the longest /proc/mounts entry containing PATH whose source
 * is `curvefs-<fsname>`; the inode is st_ino (the mount uses use_ino); the
 * MDS comes from --mds or the record the mount left (cli/mount-record.ts).
 */
import { stat, readFile, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Command } from 'commander';
import { CurveError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { MetaClient } from '../../client/meta/meta-client.js';
import { objectsOfRecords } from '../../metaserver/compaction/compaction-plan.js';
import { parseAddressList } from '../mds-client.js';
import { readMountRecord } from '../mount-record.js';

const SOURCE_PREFIX = 'curvefs-';

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface MountOfPath {
  readonly fsName: string;
  readonly mountPoint: string;
}

/** The curvefs mount holding `path` (absolute, resolved), from the text of /proc/mounts. */
export function findCurvefsMount(procMounts: string, path: string): MountOfPath | null {
  let best: MountOfPath | null = null;
  for (const line of procMounts.split('\n')) {
    const [source, target] = line.split(' ');
    if (source === undefined || target === undefined || !source.startsWith(SOURCE_PREFIX)) continue;
    const mountPoint = unescapeMountField(target);
    const inside = path === mountPoint || path.startsWith(mountPoint.endsWith(sep) ? mountPoint : mountPoint + sep);
    if (!inside || (best !== null && best.mountPoint.length >= mountPoint.length)) continue;
    best = { fsName: unescapeMountField(source).slice(SOURCE_PREFIX.length), mountPoint };
  }
  return best;
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info <path>')
    .description('inode, length and per-chunk records and objects of a file in a mounted fs')
    .option('--mds <addrs>', 'MDS addresses (comma-separated; default: what the mount recorded)')
    .action(async (path: string, options: { mds?: string }) => {
      const resolved = await realpath(path);
      const mount = findCurvefsMount(await readFile('/proc/mounts', 'utf8'), resolved);
      if (mount === null) throw new CurveError('CURVEFS_ERR_INVALID', `${path} is not inside a mounted curvefs file system`);
      const mds = options.mds !== undefined ? parseAddressList(options.mds) : ((await readMountRecord(mount.mountPoint))?.mds ?? []);
      if (mds.length === 0) {
        throw new CurveError('CURVEFS_ERR_INVALID', `no MDS address recorded for the mount at ${mount.mountPoint}: pass --mds`);
      }
      const st = await stat(resolved);
      const meta = await MetaClient.open({ mds, fsName: mount.fsName, logger: silentLogger, mountpoint: { path: `/curvefs-info/${process.pid}` } });
      try {
        const info = meta.fsInfo;
        const geometry = { chunkSizeBytes: info.chunkSizeBytes, blockSizeBytes: info.blockSizeBytes };
        const attr = await meta.getInodeAttr(st.ino);
        const lines = [`path: ${resolved}`, `fs: ${info.fsName} (id ${info.fsId})`, `inode: ${attr.inodeId}`, `length: ${attr.length}`];
        let records = 0;
        let objects = 0;
        const chunks = Math.ceil(attr.length / geometry.chunkSizeBytes);
        for (let chunkIndex = 0; chunkIndex < chunks; chunkIndex++) {
          const list = await meta.getChunkInfos(attr.inodeId, chunkIndex);
          if (list.length === 0) continue;
          const n = objectsOfRecords(geometry, list).length;
          lines.push(`chunk ${chunkIndex}: ${list.length} records, ${n} objects`);
          records += list.length;
          objects += n;
        }
        lines.push(`info: ${records} records, ${objects} objects`);
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        await meta.close();
      }
    });
}
