/**
 * Composes a client mount from its parts: the metadata client (a session at
 * the MDS), the object store the fs names, the data path with its caches,
 * and the FUSE mount of the VFS. Used by `curvefs mount` and
 * `curvefs local up`. Stopping unmounts (flushing every open file), drains
 * the data path, then ends the session.
 */
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { CurveError } from '../src/common/errors.js';
import type { Logger } from '../src/common/log.js';
import { objectStoreFromStorageInfo } from '../src/object/from-storage-info.js';
import { DataClient } from '../client/data/data-client.js';
import { MetaClient } from '../client/meta/meta-client.js';
import { fileDataFromDataClient, mountFileSystem, type MountedFileSystem } from '../client/index.js';

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
  readonly logger: Logger;
}

export interface ClientMount {
  readonly mounted: MountedFileSystem;
  readonly fsId: number;
  /** Settles after the mount is gone and everything is flushed and released. */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

/** Checks what a mount needs before talking to anyone, so the error says what is wrong. */
export async function checkMountPrerequisites(mountPoint: string): Promise<void> {
  try {
    await access('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    throw new CurveError('CURVEFS_ERR_INVALID', 'cannot mount: /dev/fuse is missing or not accessible (load the fuse module, run as root)');
  }
  let info;
  try {
    info = await stat(mountPoint);
  } catch (error) {
    throw new CurveError('CURVEFS_ERR_INVALID', `cannot mount: mount point ${mountPoint}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (!info.isDirectory()) throw new CurveError('CURVEFS_ERR_INVALID', `cannot mount: ${mountPoint} is not a directory`);
}

export async function mountClient(options: MountOptions): Promise<ClientMount> {
  const log = options.logger;
  await checkMountPrerequisites(options.mountPoint);
  const meta = await MetaClient.open({ mds: options.mds, fsName: options.fsName, logger: log, mountpoint: { path: options.mountPoint } });
  let data: DataClient | null = null;
  try {
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
      handleSignals: false,
      logger: log,
    });
    const dataClient = data;
    let finishing: Promise<void> | null = null;
    const finish = (): Promise<void> =>
      (finishing ??= (async () => {
        let failure: unknown = null;
        await mounted.closed.catch((error: unknown) => (failure = error));
        await dataClient.close().catch((error: unknown) => (failure ??= error));
        await meta.close().catch((error: unknown) => log.warn({ err: error }, 'ending the session failed'));
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
