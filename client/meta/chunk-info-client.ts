/**
 * The data path's metadata seam (client/data/metadata.ts ChunkInfoStore)
 * over the metaserver's chunk-info RPCs: GetChunkInfo (streamed),
 * AppendChunkInfo (idempotent on the server: a record already present is
 * not added twice, so resends are safe) and, for truncate, ReplaceChunkInfo
 * and UpdateInode.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { trimChunkInfos } from '../../src/layout/truncate.js';
import type { GetChunkInfoResponse } from '../../src/proto/types-metaserver.js';
import type { ChunkInfoStore } from '../data/metadata.js';
import type { InodeOps } from '../vfs/meta-api.js';
import { checkOk, type MetaCaller } from './meta-caller.js';
import { appendsToWire, chunkInfoFromWire, chunkInfoToWire } from './meta-wire.js';

/** Appends per AppendChunkInfo (metaserver/partition/limits.ts APPEND_INFOS_MAX). */
const APPENDS_PER_OP_MAX = 10_000;
/** Rounds of trim-then-compare for a shrinking truncate racing appends. */
const TRIM_ROUNDS_MAX = 8;
/** Route refreshes of one chunk read. */
const READ_ATTEMPTS_MAX = 4;

export class ChunkInfoClient implements ChunkInfoStore {
  constructor(
    private readonly caller: MetaCaller,
    private readonly inodes: Pick<InodeOps, 'getInodeAttr' | 'updateInode'>,
  ) {}

  private get router(): MetaCaller['router'] {
    return this.caller.router;
  }

  async getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    const chunks = await this.readChunks(inodeId, [chunkIndex]);
    return chunks.get(chunkIndex) ?? [];
  }

  async appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number): Promise<void> {
    assert(Number.isSafeInteger(newLength) && newLength >= 0, `new length ${newLength}`);
    // One op when it fits (the usual case); otherwise several, the length raised by the last.
    for (let i = 0; i < Math.max(1, records.length); i += APPENDS_PER_OP_MAX) {
      const slice = records.slice(i, i + APPENDS_PER_OP_MAX);
      const isLast = i + APPENDS_PER_OP_MAX >= records.length;
      const { reply } = await this.caller.call(
        () => this.router.forInode(inodeId),
        'AppendChunkInfo',
        { inodeId, chunks: appendsToWire(slice), length: isLast ? newLength : 0 },
        // The server skips a record it already has: a resend is harmless.
        { isIdempotent: true },
      );
      checkOk('AppendChunkInfo', reply);
    }
  }

  /**
   * Sets the length to exactly `newLength`. There is no single truncate op
   * on the metaserver yet, so a shrink is two ordered steps: first every
   * chunk list is trimmed (ReplaceChunkInfo, conditional on the list being
   * unchanged), then the length is set. A crash between them leaves the
   * tail reading as zeros inside the old length, never stale data past a
   * later extension. A growth is one AppendChunkInfo of the zero records
   * with the new length.
   */
  async truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    assert(Number.isSafeInteger(newLength) && newLength >= 0, `new length ${newLength}`);
    const attr = await this.inodes.getInodeAttr(inodeId);
    if (newLength < attr.length) await this.trimChunks(inodeId, newLength);
    if (zeroRecords.length > 0) await this.appendChunkInfos(inodeId, zeroRecords, newLength);
    const after = zeroRecords.length > 0 || newLength !== attr.length ? await this.inodes.getInodeAttr(inodeId) : attr;
    if (after.length !== newLength) await this.inodes.updateInode(inodeId, { length: newLength });
  }

  private async readChunks(inodeId: number, chunkIndexes: readonly number[]): Promise<Map<number, ChunkInfo[]>> {
    for (let attempt = 1; ; attempt++) {
      const target = await this.router.forInode(inodeId);
      const p = target.partition;
      const out = new Map<number, ChunkInfo[]>();
      let status = MetaStatusCode.OK;
      const stream = target.client.serverStream(
        'GetChunkInfo',
        { poolId: p.poolId, copysetId: p.copysetId, partitionId: p.partitionId, fsId: this.router.fsId, inodeId, chunkIndexes: [...chunkIndexes] },
        { isIdempotent: true },
      );
      for await (const message of stream as AsyncIterable<GetChunkInfoResponse>) {
        status = message.status;
        if (status !== MetaStatusCode.OK) break;
        for (const [index, list] of Object.entries(message.chunks)) {
          const key = Number(index);
          out.set(key, [...(out.get(key) ?? []), ...list.infos.map(chunkInfoFromWire)]);
        }
      }
      const isStale = status === MetaStatusCode.PARTITION_NOT_FOUND || status === MetaStatusCode.COPYSET_NOT_FOUND;
      if (isStale && attempt < READ_ATTEMPTS_MAX) {
        await this.router.refresh();
        continue;
      }
      checkOk('GetChunkInfo', { status });
      return out;
    }
  }

  /** Trims every chunk list to `newLength`, each conditional on the list it read. */
  private async trimChunks(inodeId: number, newLength: number): Promise<void> {
    for (let round = 1; round <= TRIM_ROUNDS_MAX; round++) {
      const chunks = await this.readChunks(inodeId, []);
      let isRaced = false;
      for (const [chunkIndex, list] of chunks) {
        const trimmed = trimChunkInfos(list, newLength);
        if (trimmed.length === list.length && trimmed.every((c, i) => c.length === list[i]!.length)) continue;
        const { reply } = await this.caller.call(() => this.router.forInode(inodeId), 'ReplaceChunkInfo', {
          inodeId,
          chunkIndex,
          expected: list.map(chunkInfoToWire),
          replacement: trimmed.map(chunkInfoToWire),
        });
        if (reply.status === MetaStatusCode.VERSION_MISMATCH) isRaced = true;
        else checkOk('ReplaceChunkInfo', reply);
      }
      if (!isRaced) return;
    }
    throw new MetaError(MetaStatusCode.VERSION_MISMATCH, `truncate of inode ${inodeId}: chunk lists kept changing`);
  }
}
