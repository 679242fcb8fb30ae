import type { Command } from 'commander';
import { mdsSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { notReady } from '../not-ready.js';

export function registerMdsCommand(program: Command): void {
  program
    .command('mds')
    .description('run the cluster manager (file systems, topology, placement, chunk ids, sessions)')
    .option('--listen <host:port>', 'address to serve on')
    .option('--data <dir>', 'data directory of the embedded store')
    .option('--etcd <urls>', 'etcd endpoints for HA (comma-separated); omit for the embedded store')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .action((_options: unknown, command: Command) => {
      resolveSettings(mdsSettings, command);
      notReady('mds', 'the MDS process is built by issue #5');
    });
}
