/**
 * The inode sweep's rules (metaserver/deletion/inode-sweep.ts) on a real
 * copyset state machine and an in-memory object store: an unreferenced
 * object is only a suspect the first time and is deleted when still
 * unreferenced a grace period later; referenced objects stay; an open inode
 * is not judged; an unlinked one is left to the deletion service; the
 * objects of a removed inode go.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { objectKey } from '../../src/layout/object-key.js';
import type { ByteRange, ListPage, ObjectStore } from '../../src/object/object-store.js';
import { CopysetStateMachine } from '../../metaserver/partition/copyset-state-machine.js';
import { OpType, type MetaOp } from '../../metaserver/partition/ops.js';
import { FileType } from '../../metaserver/partition/types.js';
import { InodeSweeper } from '../../metaserver/deletion/inode-sweep.js';
import type { FsData, FsDataSource } from '../../metaserver/deletion/fs-data.js';
import type { LeaderTerm } from '../../metaserver/compaction/leader-term.js';

class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  readonly objects = new Map<string, Buffer>();
  async put(key: string, data: Uint8Array): Promise<void> {
    this.objects.set(key, Buffer.from(data));
  }
  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const b = this.objects.get(key)!;
    return range === undefined ? b : b.subarray(range.offset, range.offset + range.length);
  }
  async head(key: string) {
    return { key, sizeBytes: this.objects.get(key)!.byteLength };
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }
  async list(prefix: string): Promise<ListPage> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    return { objects: keys.map((key) => ({ key, sizeBytes: this.objects.get(key)!.byteLength })), cursor: null };
  }
  async close(): Promise<void> {}
}

const FS = 1;
const PART = 1;
const g = { chunkSizeBytes: 4096, blockSizeBytes: 1024 };
const time = { sec: 1, nsec: 0 };
let index = 0;

function apply(sm: CopysetStateMachine, op: MetaOp): void {
  const result = sm.apply(++index, op);
  assert.equal(result?.status, MetaStatusCode.OK, JSON.stringify(op));
}

test('sweep: suspects first, deleted after the grace; referenced, open and unlinked inodes are kept', async () => {
  const sm = new CopysetStateMachine();
  apply(sm, { type: OpType.CreatePartition, fsId: FS, partitionId: PART, start: 0, end: 100 });
  const create = (): number => {
    const r = sm.apply(++index, {
      type: OpType.CreateInode, fsId: FS, partitionId: PART, fileType: FileType.File, mode: 0o100644,
      uid: 0, gid: 0, rdev: 0, symlink: '', parent: 0, time,
    });
    return r!.inode!.inodeId;
  };
  const [live, open, unlinked, removed] = [create(), create(), create(), create()];
  apply(sm, {
    type: OpType.AppendChunkInfo, fsId: FS, partitionId: PART, inodeId: live, length: 100,
    appends: [{ chunkIndex: 0, info: { chunkId: 7, compaction: 0, offset: 0, length: 100, zero: false } }],
  });
  apply(sm, { type: OpType.UpdateInode, fsId: FS, partitionId: PART, inodeId: unlinked, expectedVersion: 0, nlinkDelta: -1 });
  apply(sm, { type: OpType.UpdateInode, fsId: FS, partitionId: PART, inodeId: removed, expectedVersion: 0, nlinkDelta: -1 });
  apply(sm, { type: OpType.DeleteInode, fsId: FS, partitionId: PART, inodeId: removed });

  const store = new MemoryStore();
  const key = (inodeId: number, chunkId: number): string => objectKey('data', { fsId: FS, inodeId, chunkId, blockIndex: 0, compaction: 0 });
  for (const k of [key(live, 7), key(live, 8), key(open, 9), key(unlinked, 10), key(removed, 11)]) await store.put(k, Buffer.alloc(10));
  const fs: FsData = { fsId: FS, fsName: 'x', geometry: g, keyPrefix: 'data', store };
  const source: FsDataSource = {
    fs: async () => fs,
    openInodes: async () => new Set([open]),
    close: async () => {},
  };
  const leader = { node: { read: async <T>(f: (s: CopysetStateMachine) => T) => f(sm) } } as unknown as LeaderTerm;
  const sweeper = new InodeSweeper(source, 1_000, 100);
  const targets = [live, open, unlinked, removed].map((inodeId) => ({ fsId: FS, partitionId: PART, inodeId }));
  let now = 0;

  const first = await sweeper.sweep(leader, fs, targets, () => now);
  assert.equal(first.deleted, 0, 'nothing deleted on first sight');
  assert.deepEqual(first.again.map((t) => t.inodeId).sort(), [live, open, removed].sort());
  now = 999;
  assert.equal((await sweeper.sweep(leader, fs, targets, () => now)).deleted, 0, 'not before the grace');
  now = 1_000;
  const third = await sweeper.sweep(leader, fs, targets, () => now);
  assert.equal(third.deleted, 2);
  assert.deepEqual([...store.objects.keys()].sort(), [key(live, 7), key(open, 9), key(unlinked, 10)].sort());

  // An object that becomes referenced before its grace ends is kept (a late commit).
  await store.put(key(live, 12), Buffer.alloc(10));
  await sweeper.sweep(leader, fs, targets, () => now);
  apply(sm, {
    type: OpType.AppendChunkInfo, fsId: FS, partitionId: PART, inodeId: live, length: 100,
    appends: [{ chunkIndex: 0, info: { chunkId: 12, compaction: 0, offset: 0, length: 10, zero: false } }],
  });
  now = 5_000;
  await sweeper.sweep(leader, fs, targets, () => now);
  assert.ok(store.objects.has(key(live, 12)), 'committed after being suspected: kept');
});
