/**
 * Shared pieces of the compaction and deletion tests: a real metadata
 * cluster (embedded MDS, three metaservers with Raft and WAL, loopback), a
 * client (MetaClient + DataClient on the fs's local object store), and the
 * data services of each metaserver driven pass by pass.
 */
import { createHash } from 'node:crypto';
import { silentLogger } from '../../src/common/log.js';
import { inodeKeyPrefix } from '../../src/layout/object-key.js';
import { objectStoreFromStorageInfo } from '../../src/object/from-storage-info.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { SeededRandom } from '../../src/common/random.js';
import { DataClient } from '../../client/data/data-client.js';
import { MetaClient } from '../../client/meta/meta-client.js';
import { FileType, ROOT_INODE_ID, type InodeAttr, type Timespec } from '../../client/vfs/meta-api.js';
import { DataServices, type DataServicesOptions } from '../../metaserver/compaction/data-services.js';
import { fsDataFromInfo, MdsFsDataSource, type FsData, type FsDataSource } from '../../metaserver/deletion/fs-data.js';
import type { FsInfo } from '../../src/proto/types-common.js';
import { startMetaCluster, type MetaCluster } from './meta-client-cluster.js';

export interface DataCluster {
  readonly cluster: MetaCluster;
  readonly fsInfo: FsInfo;
  readonly meta: MetaClient;
  readonly data: DataClient;
  readonly store: ObjectStore;
  /** One per in-process metaserver. */
  readonly services: DataServices[];
  stop(): Promise<void>;
}

let clock = 1_700_000_000;
export const now = (): Timespec => ({ sec: clock++, nsec: 0 });

/** An FsDataSource over the MDS whose object store can be swapped (fault and race injection). */
export class TestFsDataSource implements FsDataSource {
  private readonly mds: MdsFsDataSource;
  constructor(
    mdsAddress: string,
    private readonly wrap: (store: ObjectStore) => ObjectStore = (s) => s,
  ) {
    this.mds = new MdsFsDataSource([mdsAddress]);
  }
  async fs(fsId: number): Promise<FsData> {
    const real = await this.mds.fs(fsId);
    return { ...real, store: this.wrap(real.store) };
  }
  openInodes(fsId: number): Promise<ReadonlySet<number>> {
    return this.mds.openInodes(fsId);
  }
  close(): Promise<void> {
    return this.mds.close();
  }
}

export async function startDataCluster(
  fsName: string,
  serviceOptions: Omit<DataServicesOptions, 'copysets' | 'source'>,
  wrap?: (store: ObjectStore) => ObjectStore,
): Promise<DataCluster> {
  const cluster = await startMetaCluster({ tickMs: 50 });
  try {
    const fsInfo = await cluster.createFs(fsName);
    const meta = await MetaClient.open({ mds: [cluster.mds.address], fsName, random: new SeededRandom(3), timeoutMs: 3_000, totalTimeoutMs: 30_000 });
    const store = objectStoreFromStorageInfo(meta.fsInfo.storage);
    const data = await DataClient.start({
      fsId: fsInfo.fsId,
      geometry: { chunkSizeBytes: fsInfo.chunkSizeBytes, blockSizeBytes: fsInfo.blockSizeBytes },
      store,
      chunkInfos: meta,
      chunkIds: meta,
      memoryLimitBytes: 128 << 20,
      flushIntervalMs: 60_000,
      logger: silentLogger,
    });
    const services = cluster.servers.map(
      (s) => new DataServices({ ...serviceOptions, copysets: s!.copysets, source: new TestFsDataSource(cluster.mds.address, wrap) }),
    );
    return {
      cluster,
      fsInfo,
      meta,
      data,
      store,
      services,
      async stop() {
        for (const s of services) await s.stop();
        await data.close().catch(() => undefined);
        await meta.close().catch(() => undefined);
        await store.close();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** One pass of every metaserver's data services. */
export async function runPasses(services: readonly DataServices[], count = 1): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.all(services.map((s) => s.runOnce()));
}

export async function createFile(meta: MetaClient, name: string, parent = ROOT_INODE_ID): Promise<InodeAttr> {
  const inode = await meta.createInode({ type: FileType.File, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent, time: now() });
  await meta.createDentry({ parentInodeId: parent, name, inodeId: inode.inodeId, type: FileType.File }, now());
  return inode;
}

/** unlink(2) as the VFS does it: the name first, then the link count. */
export async function unlinkFile(meta: MetaClient, name: string, inodeId: number, parent = ROOT_INODE_ID): Promise<void> {
  const time = now();
  await meta.deleteDentry(parent, name, FileType.File, time);
  await meta.updateInode(inodeId, { nlinkDelta: -1, removeParents: [parent], ctime: time });
}

/** Keys under a prefix (all pages). */
export async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const got = await store.list(prefix, cursor, 1000);
    keys.push(...got.objects.map((o) => o.key));
    cursor = got.cursor;
    if (cursor === null) break;
  }
  return keys;
}

export function inodeObjects(store: ObjectStore, fsId: number, inodeId: number): Promise<string[]> {
  return listKeys(store, inodeKeyPrefix('data', fsId, inodeId));
}

export async function chunkRecordCount(meta: MetaClient, inodeId: number, chunks: number): Promise<number> {
  let n = 0;
  for (let c = 0; c < chunks; c++) n += (await meta.getChunkInfos(inodeId, c)).length;
  return n;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a whole file through a fresh open (close-to-open: the latest committed lists). */
export async function readWhole(data: DataClient, inodeId: number, length: number): Promise<Buffer> {
  const handle = data.open(inodeId, length);
  try {
    return await handle.read(0, length);
  } finally {
    await handle.close();
  }
}

/** The fs data as the tests' own object store sees it (for fsck-style checks). */
export function fsDataOf(info: FsInfo, store: ObjectStore): FsData {
  return fsDataFromInfo(info, store);
}
