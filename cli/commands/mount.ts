import type { Command } from 'commander';
import { mountSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { notReady } from '../not-ready.js';

export function registerMountCommands(program: Command): void {
  program
    .command('mount <fsname> <mountpoint>')
    .description('mount a file system with FUSE')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)')
    .option('--cache-dir <dir>', 'local disk cache directory')
    .option('--cache-size <size>', 'disk cache size limit')
    .option('--writeback', 'acknowledge fsync/close once staged in the disk cache')
    .option('--buffer-size <size>', 'write buffer memory ceiling')
    .option('--attr-timeout <duration>', 'attribute cache TTL')
    .option('--entry-timeout <duration>', 'dentry cache TTL')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .action((_fsName: string, _mountPoint: string, _options: unknown, command: Command) => {
      resolveSettings(mountSettings, command);
      notReady('mount', 'the FUSE client is built by issue #7');
    });
  program
    .command('umount <mountpoint>')
    .description('unmount a CurveFS mount')
    .option('--lazy', 'detach now, clean up when no longer busy')
    .action(() => notReady('umount', 'the FUSE client is built by issue #7'));
}
