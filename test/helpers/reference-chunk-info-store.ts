/**
 * TEST DOUBLE: an in-process reference implementation of the data path's
 * metadata seam (client/data/metadata.ts), standing in for the metaserver
 * client in data-path tests. It keeps chunk-info lists and lengths in maps,
 * with the same semantics the metaserver must have (idempotent appends,
 * length raised to at least newLength, truncate trims and appends zeros in
 * one step). Optional latency and an on/off switch simulate a slow or
 * unreachable metaserver. Never used by product code.
 */
import type { Timespec } from '../../src/common/file-type.js';
import { sameChunkInfo, type ChunkInfo, type ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { trimChunkInfos } from '../../src/layout/truncate.js';
import type { ChunkIdAllocator, ChunkInfoStore } from '../../client/data/metadata.js';

export class ReferenceChunkInfoStore implements ChunkInfoStore {
  private readonly chunks = new Map<number, Map<number, ChunkInfo[]>>();
  private readonly lengths = new Map<number, number>();
  latencyMs = 0;
  isAvailable = true;
  appendCalls = 0;
  /** Every append that succeeded, in order (what it carried). */
  readonly appendLog: Array<{ inodeId: number; records: number; newLength: number; mtime: Timespec | undefined }> = [];
  /** The mtime the last append that carried one set (the metaserver sets ctime with it). */
  readonly mtimes = new Map<number, Timespec>();

  private async gate(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (!this.isAvailable) throw new Error('reference metadata store unavailable');
  }

  async getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    await this.gate();
    return [...(this.chunks.get(inodeId)?.get(chunkIndex) ?? [])];
  }

  async appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number, mtime?: Timespec): Promise<void> {
    await this.gate();
    this.appendCalls++;
    this.appendLog.push({ inodeId, records: records.length, newLength, mtime });
    this.appendNow(inodeId, records);
    this.lengths.set(inodeId, Math.max(this.lengthOf(inodeId), newLength));
    if (mtime !== undefined) this.mtimes.set(inodeId, mtime);
  }

  async truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    await this.gate();
    const perChunk = this.chunks.get(inodeId);
    if (perChunk !== undefined) for (const [idx, list] of perChunk) perChunk.set(idx, trimChunkInfos(list, newLength));
    this.appendNow(inodeId, zeroRecords);
    this.lengths.set(inodeId, newLength);
  }

  private appendNow(inodeId: number, records: readonly ChunkInfoAppend[]): void {
    let perChunk = this.chunks.get(inodeId);
    if (perChunk === undefined) {
      perChunk = new Map();
      this.chunks.set(inodeId, perChunk);
    }
    for (const r of records) {
      const list = perChunk.get(r.chunkIndex) ?? [];
      if (!list.some((x) => sameChunkInfo(x, r.info))) list.push(r.info);
      perChunk.set(r.chunkIndex, list);
    }
  }

  /** The committed length (what a VFS would read from the inode at open). */
  lengthOf(inodeId: number): number {
    return this.lengths.get(inodeId) ?? 0;
  }

  recordCount(inodeId: number): number {
    let n = 0;
    for (const list of this.chunks.get(inodeId)?.values() ?? []) n += list.length;
    return n;
  }

  /** State as JSON, so a child process can hand it back to its parent (crash tests). */
  toJSON(): object {
    return {
      chunks: [...this.chunks].map(([inode, m]) => [inode, [...m]]),
      lengths: [...this.lengths],
    };
  }

  static fromJSON(json: { chunks: Array<[number, Array<[number, ChunkInfo[]]>]>; lengths: Array<[number, number]> }): ReferenceChunkInfoStore {
    const s = new ReferenceChunkInfoStore();
    for (const [inode, m] of json.chunks) s.chunks.set(inode, new Map(m));
    for (const [inode, len] of json.lengths) s.lengths.set(inode, len);
    return s;
  }
}

/** TEST DOUBLE for the MDS chunk-id allocator: increasing ids from a counter. */
export class ReferenceChunkIdAllocator implements ChunkIdAllocator {
  constructor(private next = 1) {}
  async allocate(count: number): Promise<number> {
    const first = this.next;
    this.next += count;
    return first;
  }
}

/**
 * TEST DOUBLE with a disk: the reference store and the id counter saved to a
 * JSON file (temp + fsync + rename) after every change, so a writer process
 * killed with SIGKILL leaves exactly the metadata it committed (crash tests).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

export class PersistentReferenceMetadata implements ChunkInfoStore, ChunkIdAllocator {
  private constructor(
    private readonly path: string,
    readonly store: ReferenceChunkInfoStore,
    private nextId: number,
  ) {}

  static open(path: string): PersistentReferenceMetadata {
    let text: string | null = null;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = null;
    }
    if (text === null) return new PersistentReferenceMetadata(path, new ReferenceChunkInfoStore(), 1);
    const json = JSON.parse(text) as { nextId: number; store: Parameters<typeof ReferenceChunkInfoStore.fromJSON>[0] };
    return new PersistentReferenceMetadata(path, ReferenceChunkInfoStore.fromJSON(json.store), json.nextId);
  }

  private save(): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w');
    writeSync(fd, JSON.stringify({ nextId: this.nextId, store: this.store.toJSON() }));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, this.path);
  }

  getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    return this.store.getChunkInfos(inodeId, chunkIndex);
  }

  async appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number): Promise<void> {
    await this.store.appendChunkInfos(inodeId, records, newLength);
    this.save();
  }

  async truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    await this.store.truncate(inodeId, newLength, zeroRecords);
    this.save();
  }

  async allocate(count: number): Promise<number> {
    const first = this.nextId;
    this.nextId += count;
    this.save();
    return first;
  }

  lengthOf(inodeId: number): number {
    return this.store.lengthOf(inodeId);
  }
}
