import type { Command } from 'commander';
import { createLogger } from '../../src/common/log.js';
import { initProcessMetrics, startMetricsServer } from '../../src/common/metrics.js';
import { startMetaserver } from '../../metaserver/index.js';
import { metaserverSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { runUntilSignal, splitHostPort } from '../run-until-signal.js';

export function registerMetaserverCommand(program: Command): void {
  program
    .command('metaserver')
    .description('run a metaserver (Raft-replicated inodes and dentries); its Raft transport listens on port+1')
    .option('--listen <host:port>', 'address to serve on (a fixed port: it is the replica id)')
    .option('--data <dir>', 'data directory (WAL, snapshots)')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)')
    .option('--zone <zone>', 'failure zone')
    .option('--compaction <bool>', 'compact fragmented chunk lists (true/false; data deletion runs either way)')
    .option('--compaction-bandwidth <size>', 'object-store bytes per second compaction may use (0: unlimited)')
    .option('--data-interval <duration>', 'pause between passes of compaction and data deletion')
    .option('--data-grace <duration>', 'how long superseded or unreferenced objects outlive their last reference')
    .option('--unlink-grace <duration>', 'how long an unlinked inode is seen before its data is deleted')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .option('--log-level <level>', 'log level')
    .option('--stop-on-stdin-eof', 'stop when standard input closes (for supervisors)')
    .action(async (options: { stopOnStdinEof?: boolean }, command: Command) => {
      const settings = resolveSettings(metaserverSettings, command, ['stopOnStdinEof']);
      const log = createLogger({ name: 'metaserver', level: settings['log-level'] as 'info' });
      const registry = initProcessMetrics('metaserver');
      const server = await startMetaserver({
        listen: settings.listen,
        dataDir: settings.data,
        mds: settings.mds,
        zone: settings.zone,
        logger: log,
        registry,
        dataServices: {
          intervalMs: settings['data-interval'],
          graceMs: settings['data-grace'],
          compaction: { enabled: settings.compaction, bytesPerSecond: settings['compaction-bandwidth'] },
          deletion: { unlinkGraceMs: settings['unlink-grace'] },
        },
      });
      const metricsAddress = splitHostPort(settings['metrics-listen']);
      const metrics = await startMetricsServer(metricsAddress.host, metricsAddress.port, registry);
      log.info({ address: server.address, zone: server.zone, metricsPort: metrics.port }, 'metaserver serving');
      process.stdout.write(`metaserver: serving on ${server.address} (zone ${server.zone}), metrics on port ${metrics.port}\n`);
      await runUntilSignal('metaserver', log, [server, { stop: () => metrics.close() }], options.stopOnStdinEof === true);
      process.exit(0);
    });
}
