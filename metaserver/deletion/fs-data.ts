/**
 * What the data services (compaction, deletion) need to know about a file
 * system, from the MDS (GetFsDataInfo): its geometry, key prefix and object
 * store (built from the storage info with its credentials, which are never
 * logged), and the inodes live client sessions hold open.
 *
 * The store and geometry are cached per fs (they never change); the open
 * set is fetched fresh whenever a caller needs it, because deletion is only
 * safe against a set read after the state it judges (see inode-sweep.ts).
 */
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { MetaError } from '../../src/common/errors.js';
import type { LayoutGeometry } from '../../src/layout/geometry.js';
import { objectStoreFromStorageInfo } from '../../src/object/from-storage-info.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { mdsService } from '../../src/proto/index.js';
import type { FsInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';

/** The client data path's default key prefix (client/data/data-options.ts): the same objects. */
export const DEFAULT_KEY_PREFIX = 'data';

export interface FsData {
  readonly fsId: number;
  readonly fsName: string;
  readonly geometry: LayoutGeometry;
  readonly keyPrefix: string;
  readonly store: ObjectStore;
}

/** The seam the services use; tests may pass their own (one object store, a fixed open set). */
export interface FsDataSource {
  fs(fsId: number): Promise<FsData>;
  /** Inodes of `fsId` some live session holds open, read now (never cached). */
  openInodes(fsId: number): Promise<ReadonlySet<number>>;
  close(): Promise<void>;
}

export function fsDataFromInfo(info: FsInfo, store: ObjectStore): FsData {
  assert(info.chunkSizeBytes > 0 && info.blockSizeBytes > 0, 'fs info carries its geometry');
  return {
    fsId: info.fsId,
    fsName: info.fsName,
    geometry: { chunkSizeBytes: info.chunkSizeBytes, blockSizeBytes: info.blockSizeBytes },
    keyPrefix: info.storage?.keyPrefix || DEFAULT_KEY_PREFIX,
    store,
  };
}

export class MdsFsDataSource implements FsDataSource {
  private readonly client: RpcClient<MdsMethods>;
  private readonly cache = new Map<number, Promise<FsData>>();

  constructor(mds: readonly string[]) {
    assert(mds.length > 0, 'the data services need MDS addresses');
    this.client = new RpcClient(mdsService(), {
      addresses: mds,
      timeoutMs: 3_000,
      totalTimeoutMs: 10_000,
      idempotentMethods: ['GetFsDataInfo'],
    });
  }

  private async fetch(fsId: number): Promise<{ info: FsInfo; open: number[] }> {
    const reply = await this.client.call('GetFsDataInfo', { fsId });
    if (reply.status !== MetaStatusCode.OK || reply.fsInfo === null) {
      throw new MetaError(reply.status, `GetFsDataInfo(${fsId}): ${MetaStatusCode[reply.status]} ${reply.errorMessage}`);
    }
    return { info: reply.fsInfo, open: reply.openInodeIds };
  }

  fs(fsId: number): Promise<FsData> {
    let cached = this.cache.get(fsId);
    if (cached === undefined) {
      cached = this.fetch(fsId).then(({ info }) => fsDataFromInfo(info, objectStoreFromStorageInfo(info.storage)));
      // A failed fetch is not remembered: the next pass asks again.
      cached.catch(() => this.cache.delete(fsId));
      this.cache.set(fsId, cached);
    }
    return cached;
  }

  async openInodes(fsId: number): Promise<ReadonlySet<number>> {
    return new Set((await this.fetch(fsId)).open);
  }

  async close(): Promise<void> {
    this.client.close();
    for (const pending of this.cache.values()) {
      const data = await pending.catch(() => null);
      await data?.store.close();
    }
    this.cache.clear();
  }
}
