/**
 * Composes a client mount from its parts: the metadata client (a session at
 * the MDS), the object store the fs names, the data path with its caches,
 * and the FUSE mount of the VFS. Used by `curvefs mount` and
 * `curvefs local up`. Stopping unmounts (flushing every open file), drains
 * the data path, then ends the session.
 */
import { mkdir } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { CurveError } from '../src/common/errors.js';
import type { Logger } from '../src/common/log.js';
import { objectStoreFromStorageInfo } from '../src/object/from-storage-info.js';
import { DataClient } from '../client/data/data-client.js';
import { MetaClient } from '../client/meta/meta-client.js';
import { checkMountable, fileDataFromDataClient, mountFileSystem, type AtimeMode, type MountedFileSystem } from '../client/index.js';
import { removeMountRecord, writeMountRecord } from './mount-record.js';

/** How long a mount waits for every copyset of its fs to have a leader before it mounts anyway. */
const SERVING_WAIT_MS = 15_000;

export interface MountOptions {
  readonly fsName: string;
  readonly mountPoint: string;
  readonly mds: readonly string[];
  readonly cacheDir?: string;
  readonly cacheSizeBytes: number;
  readonly writeBack: boolean;
  readonly bufferSizeBytes: number;
  readonly attrTtlMs: number;
  readonly entryTtlMs: number;
  readonly atimeMode: AtimeMode;
  readonly logger: Logger;
}

export interface ClientMount {
  readonly mounted: MountedFileSystem;
  readonly fsId: number;
  /** Settles after the mount is gone and everything is flushed and released. */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

/** The cache part of MountOptions from resolved settings (`clientCacheSettings`), checked. */
export function clientCacheOptions(settings: {
  readonly 'cache-dir': string;
  readonly 'cache-size': number;
  readonly writeback: boolean;
  readonly 'buffer-size': number;
  readonly 'attr-timeout': number;
  readonly 'entry-timeout': number;
  readonly 'atime-mode': string;
}): Pick<MountOptions, 'cacheDir' | 'cacheSizeBytes' | 'writeBack' | 'bufferSizeBytes' | 'attrTtlMs' | 'entryTtlMs' | 'atimeMode'> {
  if (settings.writeback && settings['cache-dir'] === '') {
    throw new CurveError('CURVEFS_ERR_CONFIG', 'config writeback: needs --cache-dir (the staging directory)');
  }
  return {
    ...(settings['cache-dir'] ? { cacheDir: settings['cache-dir'] } : {}),
    cacheSizeBytes: settings['cache-size'],
    writeBack: settings.writeback,
    bufferSizeBytes: settings['buffer-size'],
    attrTtlMs: settings['attr-timeout'],
    entryTtlMs: settings['entry-timeout'],
    atimeMode: settings['atime-mode'] as AtimeMode,
  };
}

export async function mountClient(options: MountOptions): Promise<ClientMount> {
  const log = options.logger;
  // Checked before the session opens, so a bad mount point leaves nothing behind at the MDS.
  // mkdir fails on a dead FUSE mount (ENOTCONN); checkMountable then detaches it.
  await mkdir(options.mountPoint, { recursive: true }).catch(() => undefined);
  await checkMountable(options.mountPoint);
  const meta = await MetaClient.open({ mds: options.mds, fsName: options.fsName, logger: log, mountpoint: { path: options.mountPoint } });
  let data: DataClient | null = null;
  try {
    // "ready" must mean ready: after a cluster (re)start the copysets are still electing leaders.
    const electing = await meta.waitUntilServing(SERVING_WAIT_MS);
    if (electing.length > 0) log.warn({ copysets: electing }, 'mounting while these copysets have no leader yet (their operations wait)');
    const info = meta.fsInfo;
    data = await DataClient.start({
      fsId: info.fsId,
      geometry: { chunkSizeBytes: info.chunkSizeBytes, blockSizeBytes: info.blockSizeBytes },
      ...(info.storage?.keyPrefix ? { keyPrefix: info.storage.keyPrefix } : {}),
      store: objectStoreFromStorageInfo(info.storage),
      chunkInfos: meta,
      chunkIds: meta,
      memoryLimitBytes: options.bufferSizeBytes,
      ...(options.cacheDir
        ? { diskCache: { dir: options.cacheDir, limitBytes: options.cacheSizeBytes, writeBack: options.writeBack } }
        : {}),
      logger: log,
    });
    const mounted = await mountFileSystem({
      mountPoint: options.mountPoint,
      meta,
      data: fileDataFromDataClient(data),
      fsName: `curvefs-${options.fsName}`,
      attrTtlMs: options.attrTtlMs,
      entryTtlMs: options.entryTtlMs,
      atimeMode: options.atimeMode,
      handleSignals: false,
      logger: log,
    });
    const dataClient = data;
    // For tools given a path inside the mount (curvefs info): which fs, which MDS.
    await writeMountRecord({ fsName: options.fsName, mountPoint: resolvePath(options.mountPoint), mds: options.mds, pid: process.pid }).catch(
      (error: unknown) => log.warn({ err: error }, 'could not write the mount record (curvefs info will need --mds)'),
    );
    let finishing: Promise<void> | null = null;
    const finish = (): Promise<void> =>
      (finishing ??= (async () => {
        let failure: unknown = null;
        await mounted.closed.catch((error: unknown) => (failure = error));
        await dataClient.close().catch((error: unknown) => (failure ??= error));
        await meta.close().catch((error: unknown) => log.warn({ err: error }, 'ending the session failed'));
        await removeMountRecord(resolvePath(options.mountPoint)).catch(() => undefined);
        if (failure !== null) throw failure;
      })());
    // An external `fusermount -u` also ends the mount: release everything then too.
    const finished = finish();
    finished.catch(() => undefined);
    return {
      mounted,
      fsId: info.fsId,
      finished,
      stop: async () => {
        await mounted.unmount().catch(() => undefined);
        await finish();
      },
    };
  } catch (error) {
    await data?.close().catch(() => undefined);
    await meta.close().catch(() => undefined);
    throw error;
  }
}
