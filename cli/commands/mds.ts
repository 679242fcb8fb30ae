import type { Command } from 'commander';
import { createLogger } from '../../src/common/log.js';
import { startMetricsServer } from '../../src/common/metrics.js';
import { startMds } from '../../mds/index.js';
import { mdsSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { runUntilSignal, splitHostPort } from '../run-until-signal.js';

export function registerMdsCommand(program: Command): void {
  program
    .command('mds')
    .description('run the cluster manager (file systems, topology, placement, chunk ids, sessions)')
    .option('--listen <host:port>', 'address to serve on')
    .option('--data <dir>', 'data directory of the embedded store')
    .option('--etcd <urls>', 'etcd endpoints for HA (comma-separated); omit for the embedded store')
    .option('--heartbeat-timeout <duration>', 'metaserver marked offline after this silence')
    .option('--session-ttl <duration>', 'client session expiry')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .option('--log-level <level>', 'log level')
    .option('--stop-on-stdin-eof', 'stop when standard input closes (for supervisors)')
    .action(async (options: { stopOnStdinEof?: boolean }, command: Command) => {
      const settings = resolveSettings(mdsSettings, command, ['stopOnStdinEof']);
      const log = createLogger({ name: 'mds', level: settings['log-level'] as 'info' });
      const mds = await startMds({
        listen: settings.listen,
        dataDir: settings.data,
        etcdEndpoints: settings.etcd,
        metaserverOfflineMs: settings['heartbeat-timeout'],
        sessionTtlMs: settings['session-ttl'],
        logger: log,
      });
      const metricsAddress = splitHostPort(settings['metrics-listen']);
      const metrics = await startMetricsServer(metricsAddress.host, metricsAddress.port, mds.registry);
      log.info({ address: mds.address, metricsPort: metrics.port }, 'mds serving');
      process.stdout.write(`mds: serving on ${mds.address}, metrics on port ${metrics.port}\n`);
      await runUntilSignal('mds', log, [mds, { stop: () => metrics.close() }], options.stopOnStdinEof === true);
      process.exit(0);
    });
}
