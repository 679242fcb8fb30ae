import type { Command } from 'commander';
import { createLogger } from '../../src/common/log.js';
import { initProcessMetrics, startMetricsServer } from '../../src/common/metrics.js';
import { mountSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { runUntilSignal, splitHostPort } from '../run-until-signal.js';
import { clientCacheOptions, mountClient } from '../mount-fs.js';
import { unmountMountPoint } from '../../client/index.js';


export function registerMountCommands(program: Command): void {
  program
    .command('mount <fsname> <mountpoint>')
    .description('mount a file system with FUSE; runs until unmounted or SIGINT/SIGTERM (which flush and unmount)')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)')
    .option('--cache-dir <dir>', 'local disk cache directory')
    .option('--cache-size <size>', 'disk cache size limit')
    .option('--writeback', 'acknowledge fsync/close once staged in the disk cache (needs --cache-dir)')
    .option('--buffer-size <size>', 'write buffer memory ceiling')
    .option('--attr-timeout <duration>', 'attribute cache TTL')
    .option('--entry-timeout <duration>', 'dentry cache TTL')
    .option('--atime-mode <mode>', 'when reads update atime: noatime (default), relatime or strictatime')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .option('--log-level <level>', 'log level')
    .action(async (fsName: string, mountPoint: string, _options: unknown, command: Command) => {
      const settings = resolveSettings(mountSettings, command);
      const caches = clientCacheOptions(settings);
      const log = createLogger({ name: 'client', level: settings['log-level'] as 'info' });
      const registry = initProcessMetrics('client');
      const mount = await mountClient({
        fsName,
        mountPoint,
        mds: settings.mds,
        ...caches,
        logger: log,
      });
      const metricsAddress = splitHostPort(settings['metrics-listen']);
      const metrics = await startMetricsServer(metricsAddress.host, metricsAddress.port, registry);
      process.stdout.write(`ready: fs ${fsName} mounted at ${mountPoint}\n`);
      await Promise.race([runUntilSignal('mount', log, [{ stop: () => metrics.close() }, mount]), mount.finished]);
      await mount.stop();
      await metrics.close();
      process.exit(0);
    });
  program
    .command('umount <mountpoint>')
    .description('unmount a CurveFS mount (the mount process flushes and exits)')
    .option('--lazy', 'detach now, finish when no longer busy')
    .action(async (mountPoint: string, options: { lazy?: boolean }) => {
      await unmountMountPoint(mountPoint, { lazy: options.lazy === true });
    });
}
