import type { Command } from 'commander';
import { notReady } from '../not-ready.js';

export function registerFsckCommand(program: Command): void {
  program
    .command('fsck <fsname>')
    .description('find orphan objects and references to missing objects')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700')
    .option('--repair', 'delete orphan objects')
    .action(() => notReady('fsck', 'built with compaction and deletion (issue #8)'));
}
