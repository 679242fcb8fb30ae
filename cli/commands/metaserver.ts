import type { Command } from 'commander';
import { metaserverSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { notReady } from '../not-ready.js';

export function registerMetaserverCommand(program: Command): void {
  program
    .command('metaserver')
    .description('run a metaserver (Raft-replicated inodes and dentries)')
    .option('--listen <host:port>', 'address to serve on')
    .option('--data <dir>', 'data directory (WAL, snapshots)')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)')
    .option('--zone <zone>', 'failure zone')
    .option('--server <name>', 'physical server name')
    .option('--metrics-listen <host:port>', 'Prometheus /metrics address')
    .action((_options: unknown, command: Command) => {
      resolveSettings(metaserverSettings, command);
      notReady('metaserver', 'the metaserver process is built by issue #4');
    });
}
