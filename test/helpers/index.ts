/**
 * Test helpers that start real parts on loopback and always stop them.
 * A part that cannot start fails the test (PartStartError with its output
 * tail); nothing here skips.
 */
export { freePort, freePorts, isPortFree, isPortOpen, waitForPortFree, LOOPBACK_HOST } from './ports.js';
export { makeTempDir, withTempDir, type TempDir } from './tmp.js';
export { parseMountInfo, readMounts, readMountsSync, mountsAtOrBelowSync, type MountEntry } from './mounts.js';
export {
  startProcess,
  spawnProcess,
  httpGet,
  ProcessHandle,
  OutputRing,
  PartStartError,
  isPortTaken,
  PORT_TAKEN_ATTEMPTS_MAX,
  type ReadyProbe,
  type SpawnOptions,
  type ExitInfo,
} from './process.js';
export {
  startS3Server,
  isValidBucketName,
  S3RVER_ACCESS_KEY_ID,
  S3RVER_SECRET_ACCESS_KEY,
  S3_REGION,
  type S3Server,
  type S3ServerOptions,
  type S3ClientConfigLike,
} from './s3-server.js';
export { startEtcd, type EtcdServer, type EtcdOptions } from './etcd-server.js';
export {
  createMountPoint,
  withMountPoint,
  isMounted,
  isMountedSync,
  waitForMount,
  waitForUnmount,
  forceUnmount,
  abortFuseConnection,
  ensureFuseControl,
  FUSE_CONNECTIONS_DIR,
  FUSE_LARGE_IO_OPTIONS,
  type MountPoint,
} from './fuse-mount.js';
export { startFuseHello, FUSE_HELLO_CHILD, HELLO_FILE_NAME, HELLO_FILE_CONTENT } from './fuse-hello.js';
