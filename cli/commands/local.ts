import type { Command } from 'commander';
import { localUpSettings } from '../settings.js';
import { resolveSettings } from '../resolve.js';
import { notReady } from '../not-ready.js';

export function registerLocalCommands(program: Command): void {
  const local = program.command('local').description('a whole cluster on this machine (the embedded default)');
  local
    .command('up')
    .description('start an MDS, 3 metaservers and a local object store, create fs "default" and mount it')
    .option('--mount <dir>', 'mount point')
    .option('--data <dir>', 'data directory of the whole local cluster')
    .option('--fs-name <name>', 'file system to create and mount')
    .option('--s3-endpoint <url>', 'use S3 at this endpoint instead of the local object store')
    .option('--s3-bucket <bucket>', 'S3 bucket')
    .option('--s3-region <region>', 'S3 region')
    .option('--s3-access-key <key>', 'S3 access key id')
    .option('--s3-secret-key <key>', 'S3 secret access key')
    .action((_options: unknown, command: Command) => {
      resolveSettings(localUpSettings, command);
      notReady('local up', 'needs the MDS (#5), metaserver (#4), data path (#6) and FUSE client (#7)');
    });
}
