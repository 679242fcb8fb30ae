/**
 * Memory and speed of the partition state machine at scale: applies N
 * CreateInode + CreateDentry pairs (files with realistic names, in
 * directories of `perDir` entries, or all in one directory with
 * --one-dir), then reports heap bytes per inode+dentry, apply rate, lookup
 * rate, and the time to list a whole directory page by page.
 *
 *   node --expose-gc dist/bench/partition-memory-bench.js [--count 1000000] [--per-dir 1000] [--one-dir]
 *
 * Its last line reads `partition: <bytes> bytes per inode+dentry, <n> inodes`.
 */
import { CopysetStateMachine } from '../metaserver/partition/copyset-state-machine.js';
import { OpType } from '../metaserver/partition/ops.js';
import { FileType, ROOT_INODE_ID } from '../metaserver/partition/types.js';
import { PARTITION_ID_COUNT } from '../metaserver/partition/limits.js';
import { decodeSnapshot, encodeSnapshot } from '../metaserver/partition/snapshot-codec.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export interface MemoryFigures {
  readonly count: number;
  readonly bytesPerInodeWithDentry: number;
  readonly applyPerSec: number;
  readonly lookupPerSec: number;
  readonly listMs: number;
  readonly sm: CopysetStateMachine;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

/** Builds the state and measures it (exported for the bounded memory test). */
export function measurePartitionMemory(count: number, perDir: number): MemoryFigures {
  const fsId = 1;
  const sm = new CopysetStateMachine();
  let index = 0;
  const apply = (op: Parameters<CopysetStateMachine['apply']>[1]) => {
    const r = sm.apply(++index, op);
    if (r === undefined || r.status !== 0) throw new Error(`op ${op.type} failed: ${r?.status}`);
    return r;
  };
  const partitions = Math.ceil((count + count / perDir + 2) / PARTITION_ID_COUNT);
  for (let k = 1; k <= partitions; k++) {
    apply({ type: OpType.CreatePartition, fsId, partitionId: k, start: (k - 1) * PARTITION_ID_COUNT, end: k * PARTITION_ID_COUNT - 1 });
  }
  const time = { sec: 1_700_000_000, nsec: 123_456_789 };
  apply({ type: OpType.CreateRootInode, fsId, partitionId: 1, mode: 0o40755, uid: 0, gid: 0, time });
  const partitionOf = (id: number) => Math.floor(id / PARTITION_ID_COUNT) + 1;
  let allocPartition = 1;
  const createInode = (fileType: FileType, parent: number): number => {
    for (;;) {
      const r = sm.apply(++index, { type: OpType.CreateInode, fsId, partitionId: allocPartition, fileType, mode: fileType === FileType.Directory ? 0o40755 : 0o100644, uid: 1000, gid: 1000, rdev: 0, symlink: '', parent, time });
      if (r!.status === 0) return r!.inode!.inodeId;
      allocPartition += 1; // this partition's ids are spent
      if (allocPartition > partitions) throw new Error('out of partitions');
    }
  };
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const dirs: number[] = [];
  let dir = ROOT_INODE_ID;
  let inDir = perDir;
  const names: [number, string][] = [];
  for (let i = 0; i < count; i++) {
    if (inDir === perDir) {
      const d = createInode(FileType.Directory, ROOT_INODE_ID);
      apply({ type: OpType.CreateDentry, fsId, partitionId: 1, parentId: ROOT_INODE_ID, name: `dir-${dirs.length}`, inodeId: d, fileType: FileType.Directory, time });
      dirs.push(d);
      dir = d;
      inDir = 0;
    }
    const id = createInode(FileType.File, dir);
    const name = `file-${i.toString(36)}-${(i * 2654435761) % 1e9}.dat`;
    apply({ type: OpType.CreateDentry, fsId, partitionId: partitionOf(dir), parentId: dir, name, inodeId: id, fileType: FileType.File, time });
    if (i % 997 === 0) names.push([dir, name]);
    inDir += 1;
  }
  const applyMs = performance.now() - started;
  gc();
  const after = process.memoryUsage().heapUsed;
  const objects = count + dirs.length;
  const lookupStarted = performance.now();
  let lookups = 0;
  for (let round = 0; round < 20; round++) {
    for (const [parent, name] of names) {
      if (sm.getDentry(fsId, partitionOf(parent), parent, name).status !== 0) throw new Error('lookup failed');
      lookups += 1;
    }
  }
  const lookupMs = performance.now() - lookupStarted;
  const listStarted = performance.now();
  const big = dirs[0]!;
  let last = '';
  let listed = 0;
  for (let pages = 0; pages < 1_000_000; pages++) {
    const page = sm.listDentry(fsId, partitionOf(big), big, last, 1000, false);
    listed += page.dentries.length;
    if (page.dentries.length < 1000) break;
    last = page.dentries[page.dentries.length - 1]!.name;
  }
  if (listed !== Math.min(perDir, count)) throw new Error(`listed ${listed}`);
  return {
    count: objects,
    bytesPerInodeWithDentry: Math.round((after - before) / objects),
    applyPerSec: Math.round(((count + dirs.length) * 2) / (applyMs / 1000)),
    lookupPerSec: Math.round(lookups / (lookupMs / 1000)),
    listMs: Math.round(performance.now() - listStarted),
    sm,
  };
}

if (process.argv[1]?.endsWith('partition-memory-bench.js')) {
  const count = arg('--count', 1_000_000);
  const perDir = process.argv.includes('--one-dir') ? count : arg('--per-dir', 1000);
  const f = measurePartitionMemory(count, perDir);
  const encodeStarted = performance.now();
  const chunks = encodeSnapshot(f.sm);
  const encodeMs = performance.now() - encodeStarted;
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const decodeStarted = performance.now();
  await decodeSnapshot(chunks);
  console.log(
    `snapshot ${(bytes / 2 ** 20).toFixed(1)} MiB in ${chunks.length} chunks: encode ${Math.round(encodeMs)} ms, ` +
      `decode ${Math.round(performance.now() - decodeStarted)} ms`,
  );
  console.log(`applied ${f.applyPerSec} ops/s (CreateInode + CreateDentry pairs count as 2)`);
  console.log(`lookup ${f.lookupPerSec} /s; listed a ${Math.min(perDir, count)}-entry directory in ${f.listMs} ms (pages of 1000)`);
  console.log(`partition: ${f.bytesPerInodeWithDentry} bytes per inode+dentry, ${f.count} inodes`);
}
