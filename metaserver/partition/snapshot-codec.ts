/**
 * Snapshot of a whole copyset: a sequence of frames `[u32 LE length][record]`
 * cut into chunks of about SNAPSHOT_CHUNK_BYTES. Records: a header (magic,
 * format version, applied index); per partition its meta record, its
 * to-delete set, pending transactions and transaction records; then batches
 * of inodes and of dentries (a directory's in name order), each naming its
 * partition, in any order; and an end record with totals that restore
 * verifies. Restore rebuilds the same state; with no change during
 * encoding, also the same iteration order of every map.
 */
import { assert } from '../../src/common/assert.js';
import { CorruptionError } from '../../src/common/errors.js';
import { ByteReader, ByteWriter } from './binary-codec.js';
import { CopysetStateMachine } from './copyset-state-machine.js';
import { OpType, type DentryKey, type TxInodeChange, type TxWrite } from './ops.js';
import type { DirIndex } from './dir-index.js';
import { Partition, type SnapshotGuard } from './partition.js';
import type { PendingTx } from './tx-table.js';
import { Dentry, FileType, Inode, PartitionStatus, isFileType, type ChunkInfo } from './types.js';

const MAGIC = 'curvefs-copyset-snapshot';
const FORMAT_VERSION = 4;
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const BATCH = 512;
const FRAME_BYTES_MAX = 64 * 1024 * 1024;

enum Kind {
  Header = 1,
  Partition = 2,
  Inodes = 3,
  Dentries = 4,
  ToDelete = 5,
  Pending = 6,
  Records = 7,
  End = 8,
  RecentRequests = 9,
}

/** Epochs of snapshot sessions, process-wide so a mark never matches a later session by accident. */
let lastEpoch = 0;

interface PartitionPlan {
  readonly p: Partition;
  /** Inode ids and directory ids as they were when the snapshot began (insertion order). */
  readonly inodeIds: number[];
  readonly dirIds: number[];
  inodeCursor: number;
  dirCursor: number;
  /** The directory at dirCursor is encoded up to this name ('' = not started): large directories go in batches. */
  dirAfter: string;
}

/**
 * One snapshot being encoded. The small parts (partition metadata, the
 * to-delete sets, transactions) are encoded when it begins; inodes and
 * directories are encoded lazily, chunk by chunk, so a large copyset does
 * not stall the event loop (and with it Raft heartbeats). Copy-on-write
 * keeps the image at the moment it began: before an inode or a directory
 * not yet encoded changes, the partition's guard hands it here and it is
 * encoded as it was (Partition.beforeInodeChange / beforeDirChange). Inodes
 * and directory indexes made after the start carry this session's epoch
 * and are left out.
 */
export interface SnapshotSessionOptions {
  /** A chunk is cut once it holds this many bytes (default SNAPSHOT_CHUNK_BYTES). */
  readonly chunkBytes?: number;
  /** Inodes or dentries per record (default 512). */
  readonly batchSize?: number;
}

export class SnapshotSession implements SnapshotGuard {
  readonly epoch = ++lastEpoch;
  private readonly chunkBytes: number;
  private readonly batchSize: number;
  private readonly out: ByteWriter;
  private readonly frame = new ByteWriter();
  private readonly chunks: Uint8Array[] = [];
  private readonly plans: PartitionPlan[] = [];
  private planIndex = 0;
  private readonly totals: { partitions: number; inodes: number; dentries: number };
  private isEnded = false;

  constructor(sm: CopysetStateMachine, options: SnapshotSessionOptions = {}) {
    this.chunkBytes = options.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
    this.batchSize = options.batchSize ?? BATCH;
    assert(this.chunkBytes > 0 && this.batchSize > 0, 'positive chunk and batch sizes');
    this.out = new ByteWriter(this.chunkBytes + 64 * 1024);
    this.frame.uint(Kind.Header);
    this.frame.string(MAGIC);
    this.frame.uint(FORMAT_VERSION);
    this.frame.uint(sm.appliedIndex);
    this.frame.uint(sm.epoch);
    this.frame.uint(sm.epochVoters.length);
    for (const v of sm.epochVoters) this.frame.string(v);
    this.emit();
    this.frame.uint(Kind.RecentRequests);
    this.frame.uint(sm.recentRequests.size);
    for (const [id, o] of sm.recentRequests) {
      this.frame.string(id);
      for (const n of [o.type, o.inodeId, o.version, o.replacedInodeId]) this.frame.uint(n);
    }
    this.emit();
    const partitions = sm.allPartitions();
    this.totals = { partitions: partitions.length, inodes: 0, dentries: 0 };
    for (const p of partitions) {
      // An older session still attached (never drained): finish it in memory, it stays valid.
      if (p.guard !== null) p.guard.preservePartition(p);
      this.encodeEager(p);
      this.plans.push({ p, inodeIds: [...p.inodes.keys()], dirIds: [...p.dirs.keys()], inodeCursor: 0, dirCursor: 0, dirAfter: '' });
      this.totals.inodes += p.inodes.size;
      this.totals.dentries += p.dentryCount;
      p.guard = this;
    }
  }

  /** The next chunk, or undefined when the image is complete (the guards are then released). */
  next(): Uint8Array | undefined {
    while (this.chunks.length === 0 && !this.isEnded) this.encodeSome();
    return this.chunks.shift();
  }

  /** Encodes everything now (tests, small copysets). */
  drain(): Uint8Array[] {
    const all: Uint8Array[] = [];
    for (let chunk = this.next(); chunk !== undefined; chunk = this.next()) all.push(chunk);
    return all;
  }

  /** Detaches from the partitions; the image is abandoned unless already drained. */
  release(): void {
    for (const plan of this.plans) if (plan.p.guard === this) plan.p.guard = null;
  }

  preserveInode(p: Partition, inode: Inode): void {
    assert(p.guard === this && inode.snapshotEpoch !== this.epoch, 'preserving an inode this session still needs');
    this.encodeInodes(p, [inode]);
  }

  preserveDir(p: Partition, dirId: number, dir: DirIndex): void {
    assert(p.guard === this && dir.snapshotEpoch !== this.epoch, 'preserving a directory this session still needs');
    const plan = this.plans.find((x) => x.p === p);
    assert(plan !== undefined, 'a guarded partition has a plan');
    // The directory being encoded in batches: only what is not encoded yet.
    const after = plan.dirIds[plan.dirCursor] === dirId ? plan.dirAfter : '';
    this.encodeDir(p, dirId, dir, after);
  }

  preservePartition(p: Partition): void {
    const plan = this.plans.find((x) => x.p === p);
    assert(plan !== undefined, 'a guarded partition has a plan');
    while (this.encodePlanStep(plan)) {
      // bounded: each step advances a cursor
    }
    if (p.guard === this) p.guard = null;
  }

  private encodeEager(p: Partition): void {
    this.frame.uint(Kind.Partition);
    for (const n of [p.fsId, p.partitionId, p.start, p.end, p.nextId, p.status, p.appliedIndex]) this.frame.uint(n);
    this.emit();
    this.frame.uint(Kind.ToDelete);
    this.frame.uint(p.partitionId);
    this.frame.uint(p.toDelete.size);
    for (const [id, dtime] of p.toDelete) {
      this.frame.uint(id);
      this.frame.int(dtime);
    }
    this.emit();
    for (const tx of p.tx.pending.values()) {
      this.frame.uint(Kind.Pending);
      this.frame.uint(p.partitionId);
      writePending(this.frame, tx);
      this.emit();
    }
    this.frame.uint(Kind.Records);
    this.frame.uint(p.partitionId);
    this.frame.uint(p.tx.records.size);
    for (const [startTs, rec] of p.tx.records) {
      this.frame.uint(startTs);
      this.frame.uint(rec.commitTs);
      this.frame.uint(rec.atMs);
      this.frame.uint(rec.secondaries.length);
      for (const x of rec.secondaries) this.frame.uint(x);
    }
    this.emit();
  }

  /** Advances the lazy part by about one batch. */
  private encodeSome(): void {
    const plan = this.plans[this.planIndex];
    if (plan === undefined) {
      this.frame.uint(Kind.End);
      this.frame.uint(this.totals.partitions);
      this.frame.uint(this.totals.inodes);
      this.frame.uint(this.totals.dentries);
      this.emit();
      if (this.out.byteLength > 0) this.chunks.push(this.out.take());
      this.isEnded = true;
      this.release();
      return;
    }
    if (!this.encodePlanStep(plan)) {
      if (plan.p.guard === this) plan.p.guard = null;
      this.planIndex += 1;
    }
  }

  /** Encodes up to one batch of a partition's remaining inodes or directories; false when none remain. */
  private encodePlanStep(plan: PartitionPlan): boolean {
    const { p } = plan;
    if (plan.inodeCursor < plan.inodeIds.length) {
      const batch: Inode[] = [];
      while (plan.inodeCursor < plan.inodeIds.length && batch.length < this.batchSize) {
        const inode = p.inodes.get(plan.inodeIds[plan.inodeCursor++]!);
        // Gone (preserved before its deletion) or already preserved: skip.
        if (inode !== undefined && inode.snapshotEpoch !== this.epoch) batch.push(inode);
      }
      if (batch.length > 0) this.encodeInodes(p, batch);
      return true;
    }
    if (plan.dirCursor < plan.dirIds.length) {
      const dirId = plan.dirIds[plan.dirCursor]!;
      const dir = p.dirs.get(dirId);
      if (dir !== undefined && dir.snapshotEpoch !== this.epoch) {
        const page = dir.list(plan.dirAfter, this.batchSize);
        if (page.length > 0) {
          this.encodeDentries(p, dirId, page);
          plan.dirAfter = page[page.length - 1]!.name;
        }
        if (page.length === this.batchSize) return true; // more of this directory next time
        dir.snapshotEpoch = this.epoch;
      }
      plan.dirCursor += 1;
      plan.dirAfter = '';
      return true;
    }
    return false;
  }

  private encodeInodes(p: Partition, inodes: readonly Inode[]): void {
    this.frame.uint(Kind.Inodes);
    this.frame.uint(p.partitionId);
    this.frame.uint(inodes.length);
    for (const inode of inodes) {
      writeInode(this.frame, inode);
      inode.snapshotEpoch = this.epoch;
    }
    this.emit();
  }

  /** Encodes every entry of a directory after `after` ('' = all) and marks it held. */
  private encodeDir(p: Partition, dirId: number, dir: DirIndex, after: string): void {
    let last = after;
    for (let pages = 0; pages <= dir.size; pages++) {
      const page = dir.list(last, this.batchSize);
      if (page.length > 0) this.encodeDentries(p, dirId, page);
      if (page.length < this.batchSize) break;
      last = page[page.length - 1]!.name;
    }
    dir.snapshotEpoch = this.epoch;
  }

  private encodeDentries(p: Partition, dirId: number, dentries: readonly Dentry[]): void {
    this.frame.uint(Kind.Dentries);
    this.frame.uint(p.partitionId);
    this.frame.uint(dentries.length);
    for (const d of dentries) {
      assert(d.parentId === dirId, 'entries of one directory');
      this.frame.uint(d.parentId);
      this.frame.string(d.name);
      this.frame.uint(d.inodeId);
      this.frame.uint(d.type);
      this.frame.uint(d.commitTs);
    }
    this.emit();
  }

  private emit(): void {
    const payload = this.frame.take();
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, payload.byteLength, true);
    this.out.raw(header);
    this.out.raw(payload);
    if (this.out.byteLength >= this.chunkBytes) this.chunks.push(this.out.take());
  }
}

/** Encodes the copyset now, in one go; returns the chunks. */
export function encodeSnapshot(sm: CopysetStateMachine): Uint8Array[] {
  return new SnapshotSession(sm).drain();
}

/** Rebuilds a copyset from snapshot chunks (any chunking). Throws CorruptionError on bad input. */
export async function decodeSnapshot(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<CopysetStateMachine> {
  const decoder = new SnapshotDecoder();
  for await (const chunk of chunks) decoder.push(chunk);
  return decoder.finish();
}

class SnapshotDecoder {
  private pendingBytes: Uint8Array = new Uint8Array(0);
  private sm: CopysetStateMachine | undefined;
  /** Pending transactions by partition, restored (with their locks) at the end. */
  private readonly pendingTxs = new Map<Partition, PendingTx[]>();
  private ended = false;
  private counts = { partitions: 0, inodes: 0, dentries: 0 };

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.pendingBytes.byteLength > 0) {
      bytes = new Uint8Array(this.pendingBytes.byteLength + chunk.byteLength);
      bytes.set(this.pendingBytes, 0);
      bytes.set(chunk, this.pendingBytes.byteLength);
    }
    let offset = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (bytes.byteLength - offset >= 4) {
      const length = view.getUint32(offset, true);
      if (length > FRAME_BYTES_MAX) throw new CorruptionError(`snapshot: frame of ${length} bytes`);
      if (bytes.byteLength - offset - 4 < length) break;
      this.record(new ByteReader(bytes.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    this.pendingBytes = bytes.slice(offset);
  }

  finish(): CopysetStateMachine {
    if (!this.ended || this.pendingBytes.byteLength > 0) throw new CorruptionError('snapshot: truncated');
    assert(this.sm !== undefined, 'a finished snapshot has a header');
    return this.sm;
  }

  private record(r: ByteReader): void {
    if (this.ended) throw new CorruptionError('snapshot: data after the end record');
    const kind = r.uint();
    if (kind !== Kind.Header && this.sm === undefined) throw new CorruptionError('snapshot: missing header');
    switch (kind) {
      case Kind.Header: {
        if (this.sm !== undefined) throw new CorruptionError('snapshot: two headers');
        if (r.string() !== MAGIC) throw new CorruptionError('snapshot: bad magic');
        const version = r.uint();
        if (version !== FORMAT_VERSION) throw new CorruptionError(`snapshot: unknown format version ${version}`);
        this.sm = new CopysetStateMachine();
        this.sm.appliedIndex = r.uint();
        this.sm.epoch = r.uint();
        this.sm.epochVoters = Array.from({ length: r.count() }, () => r.string());
        break;
      }
      case Kind.RecentRequests: {
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const id = r.string();
          const type = r.uint();
          if (!Number.isInteger(type) || type < OpType.CreatePartition || type > OpType.Truncate) throw new CorruptionError('snapshot: bad request type');
          const [inodeId, version, replacedInodeId] = [r.uint(), r.uint(), r.uint()];
          this.sm!.recentRequests.set(id, { type, inodeId, version, replacedInodeId });
        }
        break;
      }
      case Kind.Partition: {
        const [fsId, partitionId, start, end, nextId, status, appliedIndex] = Array.from({ length: 7 }, () => r.uint());
        if (start! > end! || this.sm!.partition(partitionId!) !== undefined) throw new CorruptionError('snapshot: bad partition');
        if (status! < PartitionStatus.ReadWrite || status! > PartitionStatus.Deleting) throw new CorruptionError('snapshot: bad status');
        const p = new Partition(fsId!, partitionId!, start!, end!);
        p.nextId = nextId!;
        p.status = status!;
        p.appliedIndex = appliedIndex!;
        this.sm!.addPartition(p);
        this.pendingTxs.set(p, []);
        this.counts.partitions += 1;
        break;
      }
      case Kind.Inodes: {
        const p = this.partitionOf(r);
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const inode = readInode(r, p.fsId);
          if (!p.owns(inode.inodeId) || p.inodes.has(inode.inodeId)) throw new CorruptionError('snapshot: bad or duplicate inode');
          p.inodes.set(inode.inodeId, inode);
        }
        this.counts.inodes += n;
        break;
      }
      case Kind.Dentries: {
        const p = this.partitionOf(r);
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const parentId = r.uint();
          const name = r.string();
          const inodeId = r.uint();
          const type = fileTypeOf(r.uint());
          const d = new Dentry(parentId, name, inodeId, type, r.uint());
          if (!p.owns(parentId) || p.putDentry(d) !== undefined) throw new CorruptionError('snapshot: bad or duplicate dentry');
        }
        this.counts.dentries += n;
        break;
      }
      case Kind.ToDelete: {
        const p = this.partitionOf(r);
        const n = r.count();
        for (let i = 0; i < n; i++) p.toDelete.set(r.uint(), r.int());
        break;
      }
      case Kind.Pending: {
        const p = this.partitionOf(r);
        this.pendingTxs.get(p)!.push(readPending(r));
        break;
      }
      case Kind.Records: {
        const p = this.partitionOf(r);
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const startTs = r.uint();
          const commitTs = r.uint();
          const atMs = r.uint();
          p.tx.records.set(startTs, { commitTs, atMs, secondaries: Array.from({ length: r.count() }, () => r.uint()) });
        }
        break;
      }
      case Kind.End: {
        for (const [p, txs] of this.pendingTxs) {
          for (const id of p.toDelete.keys()) {
            if (!p.inodes.has(id)) throw new CorruptionError(`snapshot: to-delete inode ${id} is missing`);
          }
          p.tx.restorePending(txs);
        }
        const expected = { partitions: r.uint(), inodes: r.uint(), dentries: r.uint() };
        if (JSON.stringify(expected) !== JSON.stringify(this.counts)) throw new CorruptionError('snapshot: totals differ');
        this.ended = true;
        break;
      }
      default:
        throw new CorruptionError(`snapshot: unknown record kind ${kind}`);
    }
    if (r.remaining !== 0) throw new CorruptionError('snapshot: trailing bytes in a record');
  }

  /** The partition a record names (declared earlier by its Partition record). */
  private partitionOf(r: ByteReader): Partition {
    const p = this.sm!.partition(r.uint());
    if (p === undefined) throw new CorruptionError('snapshot: record for an undeclared partition');
    return p;
  }
}

function fileTypeOf(n: number): FileType {
  if (!isFileType(n)) throw new CorruptionError(`snapshot: bad file type ${n}`);
  return n;
}

function writeInode(w: ByteWriter, inode: Inode): void {
  w.uint(inode.inodeId);
  w.uint(inode.type);
  for (const n of [inode.mode, inode.uid, inode.gid, inode.nlink, inode.length, inode.rdev]) w.uint(n);
  for (const [sec, nsec] of [
    [inode.atimeSec, inode.atimeNsec],
    [inode.mtimeSec, inode.mtimeNsec],
    [inode.ctimeSec, inode.ctimeNsec],
  ] as const) {
    w.int(sec);
    w.uint(nsec);
  }
  w.int(inode.dtimeSec);
  w.uint(inode.openCount);
  w.uint(inode.version);
  w.string(inode.symlink);
  w.uint(inode.parents.length);
  for (const p of inode.parents) w.uint(p);
  w.uint(inode.xattrs?.size ?? 0);
  for (const [k, v] of inode.xattrs ?? []) {
    w.string(k);
    w.bytes(v);
  }
  w.uint(inode.chunks?.size ?? 0);
  for (const [index, list] of inode.chunks ?? []) {
    w.uint(index);
    w.uint(list.length);
    for (const c of list) writeChunkInfo(w, c);
  }
}

function readInode(r: ByteReader, fsId: number): Inode {
  const inodeId = r.uint();
  const type = fileTypeOf(r.uint());
  const [mode, uid, gid, nlink, length, rdev] = Array.from({ length: 6 }, () => r.uint());
  const times = Array.from({ length: 3 }, () => ({ sec: r.int(), nsec: r.uint() }));
  const inode = new Inode(fsId, inodeId, type, mode!, uid!, gid!, times[0]!, []);
  inode.nlink = nlink!;
  inode.length = length!;
  inode.rdev = rdev!;
  inode.mtimeSec = times[1]!.sec;
  inode.mtimeNsec = times[1]!.nsec;
  inode.ctimeSec = times[2]!.sec;
  inode.ctimeNsec = times[2]!.nsec;
  inode.dtimeSec = r.int();
  inode.openCount = r.uint();
  inode.version = r.uint();
  inode.symlink = r.string();
  const parentCount = r.count();
  for (let i = 0; i < parentCount; i++) inode.parents.push(r.uint());
  const xattrCount = r.count();
  if (xattrCount > 0) {
    inode.xattrs = new Map();
    for (let i = 0; i < xattrCount; i++) inode.xattrs.set(r.string(), r.bytes());
  }
  const chunkCount = r.count();
  if (chunkCount > 0) {
    inode.chunks = new Map();
    for (let i = 0; i < chunkCount; i++) {
      const index = r.uint();
      const n = r.count();
      const list: ChunkInfo[] = [];
      for (let j = 0; j < n; j++) list.push(readChunkInfo(r));
      inode.chunks.set(index, list);
    }
  }
  return inode;
}

export function writeChunkInfo(w: ByteWriter, c: ChunkInfo): void {
  w.uint(c.chunkId);
  w.uint(c.compaction);
  w.uint(c.offset);
  w.uint(c.length);
  w.bool(c.zero);
}

export function readChunkInfo(r: ByteReader): ChunkInfo {
  return { chunkId: r.uint(), compaction: r.uint(), offset: r.uint(), length: r.uint(), zero: r.bool() };
}

function writeKey(w: ByteWriter, k: DentryKey): void {
  w.uint(k.fsId);
  w.uint(k.parentId);
  w.string(k.name);
}

function writePending(w: ByteWriter, tx: PendingTx): void {
  w.uint(tx.startTs);
  writeKey(w, tx.primary);
  w.uint(tx.ttlMs);
  w.uint(tx.lockTimeMs);
  w.int(tx.time.sec);
  w.uint(tx.time.nsec);
  w.uint(tx.writes.length);
  for (const x of tx.writes) {
    w.uint(x.parentId);
    w.string(x.name);
    w.bool(x.isDelete);
    w.uint(x.inodeId);
    w.uint(x.fileType);
    w.uint(x.expectedInodeId);
  }
  w.uint(tx.inodeChanges.length);
  for (const c of tx.inodeChanges) {
    w.uint(c.inodeId);
    w.int(c.nlinkDelta);
    w.uint(c.addParents.length);
    for (const p of c.addParents) w.uint(p);
    w.uint(c.removeParents.length);
    for (const p of c.removeParents) w.uint(p);
  }
  w.uint(tx.emptyDirs.length);
  for (const d of tx.emptyDirs) w.uint(d);
  w.uint(tx.secondaries.length);
  for (const s of tx.secondaries) w.uint(s);
}

function readPending(r: ByteReader): PendingTx {
  const startTs = r.uint();
  const primary: DentryKey = { fsId: r.uint(), parentId: r.uint(), name: r.string() };
  const ttlMs = r.uint();
  const lockTimeMs = r.uint();
  const time = { sec: r.int(), nsec: r.uint() };
  const writes: TxWrite[] = Array.from({ length: r.count() }, () => ({
    parentId: r.uint(),
    name: r.string(),
    isDelete: r.bool(),
    inodeId: r.uint(),
    fileType: fileTypeOf(r.uint()),
    expectedInodeId: r.uint(),
  }));
  const inodeChanges: TxInodeChange[] = Array.from({ length: r.count() }, () => ({
    inodeId: r.uint(),
    nlinkDelta: r.int(),
    addParents: Array.from({ length: r.count() }, () => r.uint()),
    removeParents: Array.from({ length: r.count() }, () => r.uint()),
  }));
  const emptyDirs = Array.from({ length: r.count() }, () => r.uint());
  const secondaries = Array.from({ length: r.count() }, () => r.uint());
  return { startTs, primary, ttlMs, lockTimeMs, time, writes, inodeChanges, emptyDirs, secondaries };
}

/**
 * The copyset's snapshot as the chunked async iterable the Raft driver
 * streams: the image is the state at the moment of this call (copy-on-write
 * keeps it while later entries apply); encoding happens as chunks are
 * pulled. Breaking off the iteration releases the session.
 */
export function snapshotChunks(sm: CopysetStateMachine): AsyncIterable<Uint8Array> {
  const session = new SnapshotSession(sm);
  return (async function* () {
    try {
      for (let chunk = session.next(); chunk !== undefined; chunk = session.next()) yield chunk;
    } finally {
      session.release();
    }
  })();
}
