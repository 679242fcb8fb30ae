/**
 * `curvefs fsck FSNAME [--mds ADDRS] [--repair]` (DESIGN §8): lists objects
 * no inode references (orphans) and references to objects that are not in
 * the store (missing), and with --repair deletes the orphans. The last line
 * is `fsck: <n> objects, <n> orphans, <n> missing`; the exit code is 1 when
 * something is missing (data loss), else 0.
 *
 * It opens a session (as a mount does) to read metadata and the fs's
 * storage keys; the keys are never printed. Run it on a quiet fs: objects
 * being written right now, or waiting out the data services' grace period,
 * look like orphans, and --repair would delete them.
 */
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { silentLogger } from '../../src/common/log.js';
import { objectStoreFromStorageInfo } from '../../src/object/from-storage-info.js';
import { MetaClient } from '../../client/meta/meta-client.js';
import { DEFAULT_KEY_PREFIX } from '../../metaserver/deletion/fs-data.js';
import { deleteKeys } from '../../metaserver/deletion/object-listing.js';
import { fsckScan, fsckSummary } from '../fsck-scan.js';
import { parseAddressList } from '../mds-client.js';

/** Inodes above which a progress bar is drawn (on a terminal). */
const PROGRESS_INODES_MIN = 1_000;

export function registerFsckCommand(program: Command): void {
  program
    .command('fsck <fsname>')
    .description('find orphan objects and references to missing objects')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700')
    .option('--repair', 'delete orphan objects')
    .action(async (fsName: string, options: { mds: string; repair?: boolean }) => {
      const meta = await MetaClient.open({
        mds: parseAddressList(options.mds),
        fsName,
        logger: silentLogger,
        mountpoint: { path: `/curvefs-fsck/${process.pid}` },
      });
      const info = meta.fsInfo;
      const store = objectStoreFromStorageInfo(info.storage);
      let bar: SingleBar | null = null;
      try {
        const report = await fsckScan({
          meta,
          store,
          fsId: info.fsId,
          keyPrefix: info.storage?.keyPrefix || DEFAULT_KEY_PREFIX,
          geometry: { chunkSizeBytes: info.chunkSizeBytes, blockSizeBytes: info.blockSizeBytes },
          onProgress: (done, total) => {
            if (bar === null && total >= PROGRESS_INODES_MIN && process.stderr.isTTY) {
              bar = new SingleBar({ stream: process.stderr, format: 'fsck [{bar}] {value}/{total} inodes' }, Presets.shades_classic);
              bar.start(total, 0);
            }
            bar?.update(done);
          },
        });
        (bar as SingleBar | null)?.stop();
        const out: string[] = [];
        for (const key of report.orphans) out.push(`orphan ${key}`);
        for (const m of report.missing) out.push(`missing ${m.key} (inode ${m.inodeId})`);
        if (options.repair === true && report.orphans.length > 0) {
          await deleteKeys(store, report.orphans);
          out.push(`fsck: deleted ${report.orphans.length} orphans`);
        }
        out.push(fsckSummary(report));
        process.stdout.write(out.join('\n') + '\n');
        if (report.missing.length > 0) process.exitCode = 1;
      } finally {
        (bar as SingleBar | null)?.stop();
        await store.close();
        await meta.close();
      }
    });
}
