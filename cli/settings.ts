/**
 * The settings of every process, declared once. Each command resolves its
 * own schema with loadConfig (flags > CURVEFS_* environment > config file >
 * default); the union of all keys lets an environment shared by several
 * processes carry keys meant for the others.
 */
import type { ConfigSchema } from '../src/common/config.js';

export const commonSettings = {
  'log-level': {
    type: 'string',
    description: 'log level',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
  },
  'metrics-listen': {
    type: 'address',
    description: 'HOST:PORT serving Prometheus /metrics (port 0: any free port)',
    default: '127.0.0.1:0',
  },
} as const satisfies ConfigSchema;

export const mdsSettings = {
  ...commonSettings,
  listen: { type: 'address', description: 'HOST:PORT the MDS serves on', default: '127.0.0.1:6700' },
  data: { type: 'string', description: 'data directory of the embedded store', default: './curvefs-mds' },
  etcd: { type: 'list', description: 'etcd endpoints (HA mode); empty: embedded local store', default: [] },
  'heartbeat-timeout': { type: 'duration', description: 'metaserver marked offline after this silence', default: '30s' },
  'session-ttl': { type: 'duration', description: 'client session expiry', default: '20s' },
} as const satisfies ConfigSchema;

export const metaserverSettings = {
  ...commonSettings,
  listen: { type: 'address', description: 'HOST:PORT the metaserver serves on', default: '127.0.0.1:6800' },
  data: { type: 'string', description: 'data directory (WAL, snapshots)', default: './curvefs-metaserver' },
  mds: { type: 'list', description: 'MDS addresses HOST:PORT,...', required: true },
  zone: { type: 'string', description: 'failure zone of this metaserver', default: 'zone1' },
  compaction: { type: 'bool', description: 'compact fragmented chunk lists of the copysets led here', default: true },
  'compaction-bandwidth': { type: 'size', description: 'object-store bytes per second compaction may use (0: unlimited)', default: '64MiB' },
  'data-interval': { type: 'duration', description: 'pause between passes of compaction and data deletion', default: '5s' },
  'data-grace': { type: 'duration', description: 'how long superseded or unreferenced objects outlive their last reference', default: '60s' },
  'unlink-grace': { type: 'duration', description: 'how long an unlinked inode is seen before its data is deleted', default: '5s' },
} as const satisfies ConfigSchema;

/** The mount's client settings: the same keys for `curvefs mount` and the mount of `curvefs local up`. */
export const clientCacheSettings = {
  'cache-dir': { type: 'string', description: 'local disk cache directory (none: memory only)', default: '' },
  'cache-size': { type: 'size', description: 'disk cache size limit', default: '10GiB' },
  writeback: { type: 'bool', description: 'acknowledge fsync/close once staged in the disk cache', default: false },
  'buffer-size': { type: 'size', description: 'write buffer memory ceiling', default: '300MiB', min: 1024 * 1024 },
  'attr-timeout': { type: 'duration', description: 'attribute cache TTL (kernel and client)', default: '1s' },
  'entry-timeout': { type: 'duration', description: 'dentry cache TTL (kernel and client)', default: '1s' },
  // noatime by default, as JuiceFS: under relatime the first read after a write costs a Raft commit.
  'atime-mode': {
    type: 'string',
    description: 'when reads update atime: noatime, relatime (Linux default) or strictatime',
    default: 'noatime',
    choices: ['noatime', 'relatime', 'strictatime'],
  },
} as const satisfies ConfigSchema;

export const mountSettings = {
  ...commonSettings,
  mds: { type: 'list', description: 'MDS addresses HOST:PORT,...', required: true },
  ...clientCacheSettings,
} as const satisfies ConfigSchema;

export const s3Settings = {
  's3-endpoint': { type: 'string', description: 'S3 endpoint URL (http://HOST:PORT)', default: '' },
  's3-bucket': { type: 'string', description: 'S3 bucket', default: 'curvefs' },
  's3-region': { type: 'string', description: 'S3 region', default: 'us-east-1' },
  's3-access-key': { type: 'string', description: 'S3 access key id', default: '', secret: true },
  's3-secret-key': { type: 'string', description: 'S3 secret access key', default: '', secret: true },
  's3-path-style': { type: 'bool', description: 'path-style S3 addressing', default: true },
} as const satisfies ConfigSchema;

export const localUpSettings = {
  ...commonSettings,
  ...s3Settings,
  mount: { type: 'string', description: 'mount point', required: true },
  data: { type: 'string', description: 'data directory of the whole local cluster', default: './curvefs-data' },
  'fs-name': { type: 'string', description: 'file system to create and mount', default: 'default' },
  ...clientCacheSettings,
} as const satisfies ConfigSchema;

const allSchemas: readonly ConfigSchema[] = [mdsSettings, metaserverSettings, mountSettings, localUpSettings];
export const allKnownKeys: readonly string[] = [...new Set(allSchemas.flatMap((schema) => Object.keys(schema)))];
