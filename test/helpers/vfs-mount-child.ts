/**
 * A CHILD process that serves a real FUSE mount of the client's Vfs over the
 * metadata TEST DOUBLE (vfs-memory-meta.ts), for e2e tests of the VFS and the
 * FUSE adapter through the kernel:
 *
 *   node vfs-mount-child.js MOUNTPOINT memory          file data in memory (vfs-memory-data.ts)
 *   node vfs-mount-child.js MOUNTPOINT local DATADIR   the real data path (client/data DataClient)
 *                                                      on a LocalObjectStore under DATADIR
 *   node vfs-mount-child.js MOUNTPOINT cluster MDS FSNAME
 *                                                      REAL metadata (client/meta MetaClient) and the
 *                                                      real data path on the fs's local object store
 *   ... --allow-other                                  let other users in (permission tests)
 *   ... --no-default-permissions                       leave every permission check to the Vfs
 *
 * Prints "mounted MOUNTPOINT" when the kernel accepted the mount; on
 * SIGTERM/SIGINT unmounts (flushing) through mountFileSystem's own signal
 * handling, prints "unmounted" and exits 0 (1 if the flush failed).
 * Metadata lives in this process only: it is gone when the child exits.
 */
import { SystemClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { DEFAULT_GEOMETRY } from '../../src/layout/geometry.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import type { ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { DataClient } from '../../client/data/data-client.js';
import { MetaClient } from '../../client/meta/meta-client.js';
import type { ChunkIdAllocator, ChunkInfoStore } from '../../client/data/metadata.js';
import { fileDataFromDataClient, mountFileSystem, type FileDataApi } from '../../client/index.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from './vfs-memory-meta.js';
import { MemoryFileStore } from './vfs-memory-data.js';
import { ReferenceChunkInfoStore } from './reference-chunk-info-store.js';

/** The data path's metadata seam over the reference store, mirroring lengths into the inode records. */
class BridgedChunkInfoStore implements ChunkInfoStore {
  private readonly chunks = new ReferenceChunkInfoStore();
  constructor(private readonly meta: MemoryMeta) {}
  getChunkInfos(inodeId: number, chunkIndex: number) {
    return this.chunks.getChunkInfos(inodeId, chunkIndex);
  }
  async appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number): Promise<void> {
    await this.chunks.appendChunkInfos(inodeId, records, newLength);
    const inode = this.meta.inodes.get(inodeId);
    if (inode !== undefined && inode.attr.length < newLength) await this.meta.updateInode(inodeId, { length: newLength });
  }
  async truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    await this.chunks.truncate(inodeId, newLength, zeroRecords);
    if (this.meta.inodes.has(inodeId)) await this.meta.updateInode(inodeId, { length: newLength });
  }
}

/** VFS_KERNEL_ATTR_TTL_MS overrides the kernel attribute timeout (experiments, hard-link tests). */
function kernelAttrTtl(): { kernelAttrTtlMs?: number } {
  const text = process.env['VFS_KERNEL_ATTR_TTL_MS'];
  return text === undefined ? {} : { kernelAttrTtlMs: Number(text) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flags = ['--allow-other', '--no-default-permissions'];
  const allowOther = args.includes('--allow-other');
  const defaultPermissions = !args.includes('--no-default-permissions');
  const [mountPoint, dataKind, dataDir, fsName] = args.filter((arg) => !flags.includes(arg));
  const isUsage = mountPoint !== undefined && (dataKind === 'memory' || (dataKind === 'local' && dataDir !== undefined) || (dataKind === 'cluster' && fsName !== undefined));
  if (!isUsage) {
    process.stderr.write('usage: vfs-mount-child.js MOUNTPOINT memory | MOUNTPOINT local DATADIR | MOUNTPOINT cluster MDS FSNAME\n');
    process.exit(2);
  }
  const wallClock = new SystemClock();
  if (dataKind === 'cluster') return mountCluster(mountPoint!, dataDir!, fsName!, allowOther, defaultPermissions);
  const meta = new MemoryMeta(timespecFromMs(wallClock.nowMs()));
  let data: FileDataApi;
  let dataClient: DataClient | null = null;
  if (dataKind === 'memory') {
    data = new MemoryFileStore(meta, () => timespecFromMs(wallClock.nowMs()));
  } else {
    let nextChunkId = 1;
    const chunkIds: ChunkIdAllocator = {
      async allocate(count: number) {
        const first = nextChunkId;
        nextChunkId += count;
        return first;
      },
    };
    dataClient = await DataClient.start({
      fsId: 1,
      geometry: DEFAULT_GEOMETRY,
      store: new LocalObjectStore(dataDir!),
      chunkInfos: new BridgedChunkInfoStore(meta),
      chunkIds,
    });
    data = fileDataFromDataClient(dataClient);
  }
  const logger = createLogger({ name: 'vfs-mount-child', level: 'warn' });
  const mounted = await mountFileSystem({ mountPoint: mountPoint!, meta, data, logger, wallClock, allowOther, defaultPermissions, ...kernelAttrTtl() });
  process.stdout.write(`mounted ${mounted.mountPoint}\n`);
  try {
    await mounted.closed;
    process.stdout.write('unmounted\n');
    process.exitCode = 0;
  } catch (error) {
    process.stdout.write(`unmount failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
  // Timers of the data path would keep the process alive.
  process.exit();
}

/** Real metadata: MetaClient for the VFS and as the data path's chunk-info store and chunk-id source. */
async function mountCluster(mountPoint: string, mds: string, fsName: string, allowOther: boolean, defaultPermissions: boolean): Promise<void> {
  const logger = createLogger({ name: 'vfs-mount-child', level: 'warn' });
  const meta = await MetaClient.open({ mds: [mds], fsName, logger });
  const info = meta.fsInfo;
  const objectsPath = info.storage?.local?.path;
  if (objectsPath === undefined || objectsPath === '') throw new Error('the test fs must use local storage');
  const dataClient = await DataClient.start({
    fsId: info.fsId,
    geometry: { chunkSizeBytes: info.chunkSizeBytes, blockSizeBytes: info.blockSizeBytes },
    ...(info.storage?.keyPrefix ? { keyPrefix: info.storage.keyPrefix } : {}),
    store: new LocalObjectStore(objectsPath),
    chunkInfos: meta,
    chunkIds: meta,
    logger,
  });
  const mounted = await mountFileSystem({ mountPoint, meta, data: fileDataFromDataClient(dataClient), logger, allowOther, defaultPermissions, ...kernelAttrTtl() });
  process.stdout.write(`mounted ${mounted.mountPoint}\n`);
  try {
    await mounted.closed;
    await meta.close();
    process.stdout.write('unmounted\n');
    process.exitCode = 0;
  } catch (error) {
    process.stdout.write(`unmount failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
  process.exit();
}

main().catch((error: unknown) => {
  process.stderr.write(`vfs-mount-child: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(3);
});
