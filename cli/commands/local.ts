import path from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../src/common/log.js';
import { initProcessMetrics, startMetricsServer } from '../../src/common/metrics.js';
import { localUpSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { runUntilSignal, splitHostPort } from '../run-until-signal.js';
import { startLocalCluster } from '../local-cluster.js';
import { clientCacheOptions, mountClient } from '../mount-fs.js';

export function registerLocalCommands(program: Command): void {
  const local = program.command('local').description('a whole cluster on this machine (the embedded default)');
  local
    .command('up')
    .description('start an MDS, 3 metaservers (3 zones) and a local object store, create the fs if missing, mount it; runs until SIGINT/SIGTERM')
    .option('--mount <dir>', 'mount point (created if missing)')
    .option('--data <dir>', 'data directory of the whole local cluster')
    .option('--fs-name <name>', 'file system to create and mount')
    .option('--s3-endpoint <url>', 'use S3 at this endpoint instead of the local object store')
    .option('--s3-bucket <bucket>', 'S3 bucket')
    .option('--s3-region <region>', 'S3 region')
    .option('--s3-access-key <key>', 'S3 access key id')
    .option('--s3-secret-key <key>', 'S3 secret access key')
    .option('--log-level <level>', 'log level')
    .option('--metrics-listen <host:port>', "Prometheus /metrics address of the mount's client")
    .option('--cache-dir <dir>', 'local disk cache directory of the mount')
    .option('--cache-size <size>', 'disk cache size limit')
    .option('--writeback', 'acknowledge fsync/close once staged in the disk cache (needs --cache-dir)')
    .option('--buffer-size <size>', 'write buffer memory ceiling')
    .option('--attr-timeout <duration>', 'attribute cache TTL')
    .option('--entry-timeout <duration>', 'dentry cache TTL')
    .option('--atime-mode <mode>', 'when reads update atime: noatime (default), relatime or strictatime')
    .action(async (_options: unknown, command: Command) => {
      const settings = resolveSettings(localUpSettings, command);
      const log = createLogger({ name: 'local', level: settings['log-level'] as 'info' });
      const registry = initProcessMetrics('client');
      const mountPoint = path.resolve(settings.mount);
      // Checked before anything starts, so a bad combination leaves nothing running.
      const caches = clientCacheOptions(settings);
      const cluster = await startLocalCluster({
        dataDir: settings.data,
        fsName: settings['fs-name'],
        ...(settings['s3-endpoint']
          ? {
              s3: {
                endpoint: settings['s3-endpoint'],
                bucket: settings['s3-bucket'],
                region: settings['s3-region'],
                accessKey: settings['s3-access-key'],
                secretKey: settings['s3-secret-key'],
                pathStyle: settings['s3-path-style'],
              },
            }
          : {}),
        logLevel: settings['log-level'],
        logger: log,
      });
      let mount;
      try {
        mount = await mountClient({
          fsName: settings['fs-name'],
          mountPoint,
          mds: [cluster.mdsAddress],
          ...caches,
          logger: log,
        });
      } catch (error) {
        await cluster.stop();
        throw error;
      }
      const metricsAddress = splitHostPort(settings['metrics-listen']);
      const metrics = await startMetricsServer(metricsAddress.host, metricsAddress.port, registry);
      log.info({ metricsPort: metrics.port }, 'client metrics');
      process.stdout.write(`ready: fs ${settings['fs-name']} mounted at ${mountPoint}, mds ${cluster.mdsAddress}\n`);
      await Promise.race([
        runUntilSignal('local', log, [cluster, mount, { stop: () => metrics.close() }]),
        mount.finished.catch(() => undefined),
      ]);
      await metrics.close();
      await mount.stop().catch((error: unknown) => log.error({ err: error }, 'unmount failed'));
      await cluster.stop();
      process.exit(0);
    });
}
