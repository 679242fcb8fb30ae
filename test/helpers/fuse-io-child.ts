/**
 * A CHILD process serving a real FUSE mount of the client's Vfs with the real
 * data path (client/data DataClient on a LocalObjectStore) over the metadata
 * TEST DOUBLE, at a chosen FUSE request size, that tells what the addon
 * negotiated and saw (FuseMount.ioStats), for e2e tests of large requests:
 *
 *   node fuse-io-child.js MOUNTPOINT DATADIR IO_REQUEST_BYTES
 *
 * Prints "mounted MOUNTPOINT" once the kernel's INIT was answered. Each
 * SIGUSR2 is answered with a line "stats N {json}" (FuseIoStats; N counts
 * from 1, so a caller can wait for the answer to its own signal). On SIGTERM
 * unmounts (flushing), prints "unmounted" and exits 0 (1 if the flush failed).
 */
import { MonotonicClock, SystemClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { DEFAULT_GEOMETRY } from '../../src/layout/geometry.js';
import type { ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { DataClient } from '../../client/data/data-client.js';
import type { ChunkIdAllocator, ChunkInfoStore } from '../../client/data/metadata.js';
import { mountFuse } from '../../client/fuse/fuse-mount.js';
import { fileDataFromDataClient } from '../../client/vfs/file-data-from-data-client.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { MemoryMeta } from './vfs-memory-meta.js';
import { ReferenceChunkInfoStore } from './reference-chunk-info-store.js';

/** The data path's chunk infos in the reference store, lengths mirrored into the inode records (as vfs-mount-child). */
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

async function main(): Promise<void> {
  const [mountPoint, dataDir, ioText] = process.argv.slice(2);
  const ioRequestBytesMax = Number(ioText);
  if (mountPoint === undefined || dataDir === undefined || !Number.isInteger(ioRequestBytesMax)) {
    process.stderr.write('usage: fuse-io-child.js MOUNTPOINT DATADIR IO_REQUEST_BYTES\n');
    process.exit(2);
  }
  const wallClock = new SystemClock();
  const meta = new MemoryMeta(timespecFromMs(wallClock.nowMs()));
  let nextChunkId = 1;
  const chunkIds: ChunkIdAllocator = {
    async allocate(count: number) {
      const first = nextChunkId;
      nextChunkId += count;
      return first;
    },
  };
  const dataClient = await DataClient.start({
    fsId: 1,
    geometry: DEFAULT_GEOMETRY,
    store: new LocalObjectStore(dataDir),
    chunkInfos: new BridgedChunkInfoStore(meta),
    chunkIds,
  });
  const logger = createLogger({ name: 'fuse-io-child', level: 'warn' });
  const vfs = new Vfs({ meta, data: fileDataFromDataClient(dataClient), wallClock, cacheClock: new MonotonicClock(), logger });
  const mount = await mountFuse(vfs, mountPoint, { ioRequestBytesMax, readAheadBytes: ioRequestBytesMax, logger });
  let asked = 0;
  // Handlers first: the parent signals as soon as it reads the line below, and an unhandled
  // SIGUSR2 kills the process (a clean-clone CI run lost that race once).
  process.on('SIGUSR2', () => process.stdout.write(`stats ${++asked} ${JSON.stringify(mount.ioStats())}\n`));
  process.on('SIGTERM', () => void mount.unmount().catch(() => undefined));
  process.stdout.write(`mounted ${mount.mountPoint}\n`);
  try {
    await mount.closed;
    process.stdout.write('unmounted\n');
    process.exitCode = 0;
  } catch (error) {
    process.stdout.write(`unmount failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
  // Timers of the data path would keep the process alive.
  process.exit();
}

main().catch((error: unknown) => {
  process.stderr.write(`fuse-io-child: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(3);
});
