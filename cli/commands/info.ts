import type { Command } from 'commander';
import { notReady } from '../not-ready.js';

export function registerInfoCommand(program: Command): void {
  program
    .command('info <path>')
    .description('inode, length and per-chunk records and objects of a file in a mounted fs')
    .action(() => notReady('info', 'built with compaction and deletion (issue #8)'));
}
