import type { Command } from 'commander';
import { notReady } from '../not-ready.js';

export function registerFsCommands(program: Command): void {
  const fs = program.command('fs').description('manage file systems (create, list, info, delete)');
  const mdsOption = ['--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700'] as const;
  fs.command('create <name>')
    .description('create a file system')
    .option(...mdsOption)
    .option('--block-size <size>', 'block size (power of two)', '4MiB')
    .option('--chunk-size <size>', 'chunk size (power of two, multiple of the block size)', '64MiB')
    .option('--storage <kind>', 'object storage: local or s3', 'local')
    .option('--local-dir <dir>', 'directory of the local object store')
    .option('--s3-endpoint <url>', 'S3 endpoint')
    .option('--s3-bucket <bucket>', 'S3 bucket')
    .option('--s3-region <region>', 'S3 region', 'us-east-1')
    .option('--s3-access-key <key>', 'S3 access key id')
    .option('--s3-secret-key <key>', 'S3 secret access key')
    .action(() => notReady('fs create', 'file systems are managed by the MDS (issue #5)'));
  fs.command('list')
    .description('list file systems')
    .option(...mdsOption)
    .option('--json', 'machine-readable output')
    .action(() => notReady('fs list', 'file systems are managed by the MDS (issue #5)'));
  fs.command('info <name>')
    .description('show a file system (credentials masked)')
    .option(...mdsOption)
    .option('--json', 'machine-readable output')
    .action(() => notReady('fs info', 'file systems are managed by the MDS (issue #5)'));
  fs.command('delete <name>')
    .description('delete a file system (refused while mounted)')
    .option(...mdsOption)
    .action(() => notReady('fs delete', 'file systems are managed by the MDS (issue #5)'));
}
