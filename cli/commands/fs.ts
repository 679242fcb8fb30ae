import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../src/common/errors.js';
import { parseSize } from '../../src/common/units.js';
import { StorageType, type FsInfo, type StorageInfo } from '../../src/proto/index.js';
import { parseAddressList, withMds } from '../mds-client.js';

interface CreateOptions {
  mds: string;
  blockSize: string;
  chunkSize: string;
  capacity: string;
  storage: string;
  localDir?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  s3Region: string;
  s3AccessKey?: string;
  s3SecretKey?: string;
  s3PathStyle: boolean;
}

function sizeOption(key: string, text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new ConfigError(key, (error as Error).message);
  }
}

/** The storage a new fs names, from the flags (S3 keys may also come from CURVEFS_S3_ACCESS_KEY / _SECRET_KEY). */
export function storageFromOptions(options: CreateOptions): StorageInfo {
  if (options.storage === 'local') {
    if (!options.localDir) throw new ConfigError('local-dir', 'local storage needs --local-dir DIR');
    return { type: StorageType.LOCAL, local: { path: path.resolve(options.localDir) }, s3: null, keyPrefix: '' };
  }
  if (options.storage === 's3') {
    if (!options.s3Endpoint) throw new ConfigError('s3-endpoint', 'S3 storage needs --s3-endpoint URL');
    if (!options.s3Bucket) throw new ConfigError('s3-bucket', 'S3 storage needs --s3-bucket NAME');
    const accessKey = options.s3AccessKey ?? process.env['CURVEFS_S3_ACCESS_KEY'] ?? '';
    const secretKey = options.s3SecretKey ?? process.env['CURVEFS_S3_SECRET_KEY'] ?? '';
    return {
      type: StorageType.S3,
      s3: {
        endpoint: options.s3Endpoint,
        bucket: options.s3Bucket,
        region: options.s3Region,
        accessKey,
        secretKey,
        forcePathStyle: options.s3PathStyle,
      },
      local: null,
      keyPrefix: '',
    };
  }
  throw new ConfigError('storage', `must be local or s3 (got "${options.storage}")`);
}

/** One fs as people read it; credentials are already masked by the MDS. */
export function describeFs(fs: FsInfo): string {
  const storage =
    fs.storage?.type === StorageType.S3 && fs.storage.s3
      ? `s3 ${fs.storage.s3.endpoint}/${fs.storage.s3.bucket} (access key ${fs.storage.s3.accessKey || 'none'})`
      : `local ${fs.storage?.local?.path ?? '?'}`;
  return [
    `name:       ${fs.fsName}`,
    `id:         ${fs.fsId}`,
    `block size: ${fs.blockSizeBytes}`,
    `chunk size: ${fs.chunkSizeBytes}`,
    `capacity:   ${fs.capacityBytes === 0 ? 'unlimited' : fs.capacityBytes}`,
    `storage:    ${storage}`,
    `mounts:     ${fs.mountpoints.map((m) => `${m.hostname}:${m.path}`).join(', ') || 'none'}`,
  ].join('\n');
}

export function registerFsCommands(program: Command): void {
  const fs = program.command('fs').description('manage file systems (create, list, info, delete)');
  const mdsFlag = ['--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700'] as const;
  fs.command('create <name>')
    .description('create a file system')
    .option(...mdsFlag)
    .option('--block-size <size>', 'block size (power of two)', '4MiB')
    .option('--chunk-size <size>', 'chunk size (power of two, multiple of the block size)', '64MiB')
    .option('--capacity <size>', 'capacity reported by statfs (0: unlimited)', '0')
    .option('--storage <kind>', 'object storage: local or s3', 'local')
    .option('--local-dir <dir>', 'directory of the local object store')
    .option('--s3-endpoint <url>', 'S3 endpoint')
    .option('--s3-bucket <bucket>', 'S3 bucket')
    .option('--s3-region <region>', 'S3 region', 'us-east-1')
    .option('--s3-access-key <key>', 'S3 access key id (or CURVEFS_S3_ACCESS_KEY)')
    .option('--s3-secret-key <key>', 'S3 secret access key (or CURVEFS_S3_SECRET_KEY)')
    .option('--no-s3-path-style', 'virtual-hosted-style S3 addressing')
    .action(async (name: string, options: CreateOptions) => {
      const request = {
        fsName: name,
        blockSizeBytes: sizeOption('block-size', options.blockSize),
        chunkSizeBytes: sizeOption('chunk-size', options.chunkSize),
        capacityBytes: sizeOption('capacity', options.capacity),
        storage: storageFromOptions(options),
        rootUid: process.getuid?.() ?? 0,
        rootGid: process.getgid?.() ?? 0,
        rootMode: 0o40755,
      };
      const reply = await withMds(parseAddressList(options.mds), (mds) => mds.call('CreateFs', request));
      process.stdout.write(`fs ${name} created (id ${reply.fsInfo?.fsId ?? '?'})\n`);
    });
  fs.command('list')
    .description('list file systems')
    .option(...mdsFlag)
    .option('--json', 'machine-readable output')
    .action(async (options: { mds: string; json?: boolean }) => {
      const reply = await withMds(parseAddressList(options.mds), (mds) => mds.call('ListFs', {}));
      if (options.json) {
        process.stdout.write(JSON.stringify(reply.fsInfos, null, 2) + '\n');
        return;
      }
      for (const info of reply.fsInfos) {
        process.stdout.write(`${info.fsName}\tid ${info.fsId}\tmounts ${info.mountpoints.length}\n`);
      }
    });
  fs.command('info <name>')
    .description('show a file system (credentials masked)')
    .option(...mdsFlag)
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { mds: string; json?: boolean }) => {
      const reply = await withMds(parseAddressList(options.mds), (mds) => mds.call('GetFsInfo', { fsName: name }));
      const info = reply.fsInfo!;
      process.stdout.write(options.json ? JSON.stringify(info, null, 2) + '\n' : describeFs(info) + '\n');
    });
  fs.command('delete <name>')
    .description('delete a file system (refused while mounted)')
    .option(...mdsFlag)
    .action(async (name: string, options: { mds: string }) => {
      await withMds(parseAddressList(options.mds), (mds) => mds.call('DeleteFs', { fsName: name }));
      process.stdout.write(`fs ${name} deleted\n`);
    });
}
