import type { Command } from 'commander';
import { notReady } from '../not-ready.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('cluster status: MDS leader, metaservers, copysets, file systems, mounts')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700')
    .option('--json', 'machine-readable output (the leader address at mds.leader)')
    .action(() => notReady('status', 'cluster status is served by the MDS (issue #5)'));
}
