/**
 * The data path's metadata seam (client/data/metadata.ts ChunkInfoStore)
 * over the metaserver's chunk-info RPCs: GetChunkInfo (streamed),
 * AppendChunkInfo (idempotent on the server: a record already present is
 * not added twice, so resends are safe) and Truncate (one Raft entry: the
 * length, the trim and the zero records together; resends carry one
 * request id, so a resend after a lost reply is answered, not re-applied).
 */
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import type { Timespec } from '../../src/common/file-type.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import type { GetChunkInfoResponse } from '../../src/proto/types-metaserver.js';
import type { ChunkInfoStore } from '../data/metadata.js';
import { checkOk, type MetaCaller } from './meta-caller.js';
import { appendsToWire, chunkInfoFromWire } from './meta-wire.js';

/** Appends per AppendChunkInfo or Truncate (metaserver/partition/limits.ts APPEND_INFOS_MAX). */
const APPENDS_PER_OP_MAX = 10_000;
/** Route refreshes of one chunk read. */
const READ_ATTEMPTS_MAX = 4;

export interface ChunkInfoClientDeps {
  /** The file's new mtime/ctime on truncate. */
  readonly wallClock: Clock;
  /** A fresh id per change, the same on each of its resends (metaserver.proto request_id). */
  readonly newRequestId: () => string;
}

export class ChunkInfoClient implements ChunkInfoStore {
  constructor(
    private readonly caller: MetaCaller,
    private readonly deps: ChunkInfoClientDeps,
  ) {}

  private get router(): MetaCaller['router'] {
    return this.caller.router;
  }

  async getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    const chunks = await this.readChunks(inodeId, [chunkIndex]);
    return chunks.get(chunkIndex) ?? [];
  }

  async appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number, mtime?: Timespec): Promise<void> {
    assert(Number.isSafeInteger(newLength) && newLength >= 0, `new length ${newLength}`);
    // The server reads mtime 0.0 as "none" (op-codec): such a time cannot be carried here.
    assert(mtime === undefined || mtime.sec > 0 || mtime.nsec > 0, 'an mtime to set is not 0.0');
    // One op when it fits (the usual case); otherwise several, the length and
    // the mtime (the server sets ctime with it) carried by the last.
    for (let i = 0; i < Math.max(1, records.length); i += APPENDS_PER_OP_MAX) {
      const slice = records.slice(i, i + APPENDS_PER_OP_MAX);
      const isLast = i + APPENDS_PER_OP_MAX >= records.length;
      const { reply } = await this.caller.call(
        () => this.router.forInode(inodeId),
        'AppendChunkInfo',
        {
          inodeId,
          chunks: appendsToWire(slice),
          length: isLast ? newLength : 0,
          ...(isLast && mtime !== undefined ? { mtime: mtime.sec, mtimeNs: mtime.nsec } : {}),
        },
        // The server skips a record it already has: a resend is harmless.
        { isIdempotent: true },
      );
      checkOk('AppendChunkInfo', reply);
    }
  }

  /**
   * Sets the length to exactly `newLength` in one Truncate entry (trim and
   * zero records included). Zero records beyond one entry's limit (a sparse
   * extension over more than 10,000 chunks) go in several entries, each
   * growing the file to the end of its records: a crash between them leaves
   * a shorter extension, never a range that reads anything but zeros.
   */
  async truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    assert(Number.isSafeInteger(newLength) && newLength >= 0, `new length ${newLength}`);
    const ms = this.deps.wallClock.nowMs();
    const time = { timeSec: Math.floor(ms / 1000), timeNs: Math.floor(ms % 1000) * 1_000_000 };
    const ordered = [...zeroRecords].sort((x, y) => x.info.offset - y.info.offset);
    for (let i = 0; i < Math.max(1, ordered.length); i += APPENDS_PER_OP_MAX) {
      const slice = ordered.slice(i, i + APPENDS_PER_OP_MAX);
      const isLast = i + APPENDS_PER_OP_MAX >= ordered.length;
      const length = isLast ? newLength : slice[slice.length - 1]!.info.offset + slice[slice.length - 1]!.info.length;
      const { reply } = await this.caller.call(
        () => this.caller.router.forInode(inodeId),
        'Truncate',
        { inodeId, length, chunks: appendsToWire(slice), ...time, requestId: this.deps.newRequestId() },
        // One request id on every resend: a truncate that applied is answered again, not re-applied over later writes.
        { isIdempotent: true },
      );
      checkOk('Truncate', reply);
    }
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
}
