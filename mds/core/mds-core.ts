/**
 * The MDS's request handlers, independent of gRPC: each takes a decoded
 * request and resolves to a reply (never throws for an expected outcome).
 *
 * Every handler first passes `gate()`: a follower (or a leader whose lease
 * deadline passed) answers REDIRECTED with the leader's address; a leader
 * still loading its state answers UNAVAILABLE. Mutations run under one
 * mutex (read memory → write store → update memory, with no other mutation
 * in between) and re-check leadership after each await: `generation` bumps on
 * every leadership change, and memory of an old generation is never touched.
 */
import { randomUUID } from 'node:crypto';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import { CurveError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { Mountpoint, StorageInfo } from '../../src/proto/types-common.js';
import { FsStatus } from '../../src/proto/types-common.js';
import type * as M from '../../src/proto/types-mds.js';
import type { LeaderElection } from '../election/leader-election.js';
import {
  BLOCK_SIZE_DEFAULT,
  CHUNK_SIZE_DEFAULT,
  validateFsName,
  validateSizes,
  validateStorage,
} from '../fs/fs-validate.js';
import type { StorageChecker } from '../fs/storage-check.js';
import type { MdsStore } from '../store/mds-store.js';
import { isNotLeader } from '../store/mds-store.js';
import { AsyncMutex } from './async-mutex.js';
import { BatchCounter } from './batch-counter.js';
import type { MetaserverAdmin } from './metaserver-admin.js';
import { MdsState } from './mds-state.js';
import {
  KEY_COUNTER,
  ROOT_INODE_ID,
  encodeRecord,
  fsKey,
  partitionKey,
  sessionKey,
  toFsInfo,
  type FsRecord,
  type SessionRecord,
} from './records.js';
import { MdsTopology } from './mds-topology.js';

export interface MdsCoreOptions {
  readonly store: MdsStore;
  readonly election: LeaderElection;
  readonly admin: MetaserverAdmin;
  readonly checkStorage: StorageChecker;
  /** Monotonic time for leases and timeouts. */
  readonly clock: Clock;
  /** Wall time for timestamps users see. */
  readonly wallClock: Clock;
  readonly log: Logger;
  readonly sessionTtlMs?: number;
  readonly metaserverOfflineMs?: number;
  readonly chunkIdBatch?: number;
  readonly tsoBatch?: number;
  readonly scheduleCooldownMs?: number;
}

/** A reply as handlers build it: header fields set, the rest left to proto3 defaults. */
export type Reply<T> = Partial<T> & { status: MetaStatusCode; leaderHint: string; errorMessage: string };

export const SESSION_TTL_MS_DEFAULT = 20_000;
export const METASERVER_OFFLINE_MS_DEFAULT = 10_000;
export const CHUNK_ID_BATCH_DEFAULT = 100_000;
export const TSO_BATCH_DEFAULT = 100_000;
export const ALLOCATE_CHUNK_IDS_MAX = 1_000_000;
/** Bounded so a session record stays far below the store's value limit (1 MiB). */
export const OPEN_INODES_PER_SESSION_MAX = 50_000;
const LOAD_RETRY_MS = 500;

export class MdsCore {
  readonly sessionTtlMs: number;
  readonly metaserverOfflineMs: number;
  private state: MdsState | null = null;
  /** Bumped on every leadership change; async work of an older generation is discarded. */
  private generation = 0;
  readonly mutex = new AsyncMutex();
  readonly chunkIds: BatchCounter;
  readonly tso: BatchCounter;
  readonly ids: { fs: BatchCounter; metaserver: BatchCounter; copyset: BatchCounter; partition: BatchCounter };
  readonly topology: MdsTopology;
  /** Chunk ids handed out by this process (metrics). */
  chunkIdsAllocated = 0;
  private isStopped = false;

  constructor(readonly options: MdsCoreOptions) {
    this.sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS_DEFAULT;
    this.metaserverOfflineMs = options.metaserverOfflineMs ?? METASERVER_OFFLINE_MS_DEFAULT;
    const store = options.store;
    this.chunkIds = new BatchCounter(store, `${KEY_COUNTER}chunkId`, options.chunkIdBatch ?? CHUNK_ID_BATCH_DEFAULT);
    this.tso = new BatchCounter(store, `${KEY_COUNTER}tso`, options.tsoBatch ?? TSO_BATCH_DEFAULT);
    this.ids = {
      fs: new BatchCounter(store, `${KEY_COUNTER}fsId`, 1),
      metaserver: new BatchCounter(store, `${KEY_COUNTER}metaserverId`, 1),
      copyset: new BatchCounter(store, `${KEY_COUNTER}copysetId`, 1),
      partition: new BatchCounter(store, `${KEY_COUNTER}partitionId`, 1),
    };
    this.topology = new MdsTopology(this, options.scheduleCooldownMs ?? 5000);
    options.election.onChange((isLeading) => this.onLeadership(isLeading));
  }

  // ---- leadership ----

  private onLeadership(isLeading: boolean): void {
    this.generation++;
    this.state = null;
    for (const counter of [this.chunkIds, this.tso, ...Object.values(this.ids)]) counter.reset();
    this.topology.reset();
    if (isLeading) void this.loadState(this.generation);
  }

  private async loadState(generation: number): Promise<void> {
    while (!this.isStopped && generation === this.generation) {
      try {
        const state = await MdsState.load(this.options.store, this.options.clock.nowMs(), this.sessionTtlMs);
        if (generation !== this.generation) return;
        this.state = state;
        this.options.log.info({ fsCount: state.fsById.size, metaservers: state.metaservers.size }, 'mds: leader state loaded');
        return;
      } catch (e) {
        this.options.log.warn({ err: errorText(e) }, 'mds: loading leader state failed; retrying');
        await new Promise((r) => setTimeout(r, LOAD_RETRY_MS));
      }
    }
  }

  stop(): void {
    this.isStopped = true;
    this.generation++;
    this.state = null;
  }

  /** True while this MDS leads and has its state loaded. */
  isServing(): boolean {
    return this.options.election.isActing() && this.state !== null;
  }

  /** The state, if this MDS may act on it right now (else a reply to send). */
  gate(): { state: MdsState; generation: number } | Reply<object> {
    if (!this.options.election.isActing()) {
      return reply(MetaStatusCode.REDIRECTED, 'this MDS is not the leader', this.options.election.leaderAddress());
    }
    if (this.state === null) return reply(MetaStatusCode.OVERLOAD, 'the MDS leader is still loading its state; retry shortly');
    return { state: this.state, generation: this.generation };
  }

  /** Asserts after an await that leadership did not change meanwhile. */
  stillCurrent(generation: number): boolean {
    return generation === this.generation && this.options.election.isActing();
  }

  /** Runs a handler; store failures become replies (lost leadership → REDIRECTED). */
  async handle<T>(name: string, fn: (state: MdsState, generation: number) => Promise<Reply<T>>): Promise<Reply<T>> {
    const gated = this.gate();
    if (!('state' in gated)) return gated as Reply<T>;
    try {
      // An OK stands even if leadership was lost meanwhile: every write behind it was
      // fenced in the store (it committed while this MDS still held the election key),
      // and counters hand out only values reserved that way.
      return await fn(gated.state, gated.generation);
    } catch (e) {
      if (isNotLeader(e)) {
        return reply(MetaStatusCode.REDIRECTED, 'leadership lost during the request', this.options.election.leaderAddress());
      }
      this.options.log.warn({ rpc: name, err: errorText(e) }, 'mds: request failed');
      return reply(MetaStatusCode.UNAVAILABLE, `${name} failed: ${errorText(e)}`);
    }
  }

  // ---- file systems ----

  async createFs(request: M.CreateFsRequest): Promise<Reply<M.CreateFsResponse>> {
    const blockSizeBytes = request.blockSizeBytes || BLOCK_SIZE_DEFAULT;
    const chunkSizeBytes = request.chunkSizeBytes || CHUNK_SIZE_DEFAULT;
    const invalid =
      validateFsName(request.fsName) ?? validateSizes(blockSizeBytes, chunkSizeBytes) ?? validateStorage(request.storage);
    if (invalid !== null) return reply(MetaStatusCode.PARAM_ERROR, invalid);
    if (request.owner.length > 256) return reply(MetaStatusCode.PARAM_ERROR, 'owner is at most 256 characters');
    const storage = request.storage as StorageInfo;
    return this.handle('CreateFs', async (state) => {
      const existing = state.fsByName.get(request.fsName);
      if (existing !== undefined && existing.status !== FsStatus.NEW) {
        return reply(MetaStatusCode.FS_EXIST, `fs ${request.fsName} already exists (id ${existing.fsId})`);
      }
      // Outside the mutex: an S3 round trip must not hold up every other mutation.
      try {
        await this.options.checkStorage(storage);
      } catch (e) {
        return reply(MetaStatusCode.STORAGE_ERROR, errorText(e));
      }
      return this.mutex.run(() => this.createFsLocked(request, blockSizeBytes, chunkSizeBytes, storage));
    });
  }

  private async createFsLocked(
    request: M.CreateFsRequest,
    blockSizeBytes: number,
    chunkSizeBytes: number,
    storage: StorageInfo,
  ): Promise<Reply<M.CreateFsResponse>> {
    const gated = this.gate();
    if (!('state' in gated)) return gated;
    const { state, generation } = gated;
    let fs = state.fsByName.get(request.fsName);
    const wanted = {
      capacityBytes: request.capacityBytes,
      blockSizeBytes,
      chunkSizeBytes,
      owner: request.owner,
      storage,
      rootUid: request.rootUid,
      rootGid: request.rootGid,
      rootMode: request.rootMode || 0o40755,
    };
    if (fs !== undefined) {
      // A NEW record is an earlier create that did not finish: resume it if it asked for the same thing.
      const same =
        fs.status === FsStatus.NEW &&
        fs.blockSizeBytes === wanted.blockSizeBytes &&
        fs.chunkSizeBytes === wanted.chunkSizeBytes &&
        fs.capacityBytes === wanted.capacityBytes &&
        fs.owner === wanted.owner &&
        JSON.stringify(fs.storage) === JSON.stringify(wanted.storage);
      if (!same) return reply(MetaStatusCode.FS_EXIST, `fs ${request.fsName} already exists (id ${fs.fsId})`);
    } else {
      // Refuse before recording anything: a fs without metaservers would sit half-made.
      const blocker = this.topology.placementBlocker(state);
      if (blocker !== '') return reply(MetaStatusCode.NO_SPACE, blocker);
      const fsId = await this.ids.fs.take(1);
      const record: FsRecord = {
        fsId,
        fsName: request.fsName,
        status: FsStatus.NEW,
        ...wanted,
        createTimeMs: this.options.wallClock.nowMs(),
      };
      const written = await this.options.store.txn(
        [{ key: fsKey(record.fsName), modRevision: 0 }],
        [{ kind: 'put', key: fsKey(record.fsName), value: encodeRecord(record) }],
      );
      if (!this.stillCurrent(generation)) return redirect(this);
      if (!written.succeeded) return reply(MetaStatusCode.FS_EXIST, `fs ${request.fsName} already exists`);
      state.putFs(record);
      fs = record;
    }
    // The first partition holds the root inode (id 1).
    let first = state.partitionsOf(fs.fsId)[0];
    if (first === undefined) {
      const created = await this.topology.createPartitionsLocked(state, generation, fs, 1);
      if ('status' in created) return created;
      first = created.partitions[0]!;
    }
    assert(first.start <= ROOT_INODE_ID && ROOT_INODE_ID <= first.end, 'the first partition covers the root inode');
    try {
      await this.options.admin.createRootInode(this.topology.copysetTarget(state, first.poolId, first.copysetId), {
        fsId: fs.fsId,
        partitionId: first.partitionId,
        uid: fs.rootUid,
        gid: fs.rootGid,
        mode: fs.rootMode,
        timeMs: fs.createTimeMs,
      });
    } catch (e) {
      return reply(MetaStatusCode.UNAVAILABLE, `creating the root inode of ${fs.fsName} failed: ${errorText(e)}; run create again to resume`);
    }
    if (!this.stillCurrent(generation)) return redirect(this);
    const inited: FsRecord = { ...fs, status: FsStatus.INITED };
    await this.options.store.put(fsKey(inited.fsName), encodeRecord(inited));
    // Durable (and fenced): report success even if leadership moved meanwhile.
    if (this.stillCurrent(generation)) state.putFs(inited);
    this.options.log.info({ fsId: inited.fsId, fsName: inited.fsName }, 'mds: fs created');
    return { ...reply(MetaStatusCode.OK), fsInfo: toFsInfo(inited, [], false) };
  }

  async deleteFs(request: M.DeleteFsRequest): Promise<Reply<M.DeleteFsResponse>> {
    return this.handle('DeleteFs', () =>
      this.mutex.run(async () => {
        const gated = this.gate();
        if (!('state' in gated)) return gated;
        const { state, generation } = gated;
        const fs = state.fsByName.get(request.fsName);
        if (fs === undefined) return reply(MetaStatusCode.FS_NOT_FOUND, `fs ${request.fsName} does not exist`);
        const mounts = state.mountpointsOf(fs.fsId);
        if (mounts.length > 0) {
          const where = mounts.map((m) => `${m.hostname}:${m.path}`).join(', ');
          return reply(MetaStatusCode.FS_BUSY, `fs ${fs.fsName} is mounted (${where}); unmount it first`);
        }
        const deleting: FsRecord = { ...fs, status: FsStatus.DELETING };
        await this.options.store.put(fsKey(fs.fsName), encodeRecord(deleting));
        if (!this.stillCurrent(generation)) return redirect(this);
        state.putFs(deleting);
        for (const p of state.partitionsOf(fs.fsId)) {
          try {
            await this.options.admin.deletePartition(this.topology.copysetTarget(state, p.poolId, p.copysetId), p.partitionId);
          } catch (e) {
            return reply(MetaStatusCode.UNAVAILABLE, `deleting partition ${p.partitionId} of ${fs.fsName} failed: ${errorText(e)}; run delete again to resume`);
          }
          await this.options.store.delete(partitionKey(p.partitionId));
          if (!this.stillCurrent(generation)) return redirect(this);
          state.partitions.delete(p.partitionId);
          state.partitionStats.delete(p.partitionId);
        }
        await this.options.store.delete(fsKey(fs.fsName));
        if (!this.stillCurrent(generation)) return redirect(this);
        state.removeFs(fs);
        this.options.log.info({ fsId: fs.fsId, fsName: fs.fsName }, 'mds: fs deleted');
        return reply(MetaStatusCode.OK);
      }),
    );
  }

  async getFsInfo(request: M.GetFsInfoRequest): Promise<Reply<M.GetFsInfoResponse>> {
    return this.handle('GetFsInfo', async (state) => {
      const fs = request.fsId !== 0 ? state.fsById.get(request.fsId) : state.fsByName.get(request.fsName);
      if (fs === undefined) {
        return reply(MetaStatusCode.FS_NOT_FOUND, `fs ${request.fsId !== 0 ? `id ${request.fsId}` : request.fsName} does not exist`);
      }
      return { ...reply(MetaStatusCode.OK), fsInfo: toFsInfo(fs, state.mountpointsOf(fs.fsId), false) };
    });
  }

  /**
   * For the metaservers' compaction and deletion (issue #8): the fs with its
   * storage keys (they read and delete its objects) and the union of the
   * inodes its live sessions hold open. An expired session is gone from
   * `state.sessions`, so its opens no longer protect anything.
   */
  async getFsDataInfo(request: M.GetFsDataInfoRequest): Promise<Reply<M.GetFsDataInfoResponse>> {
    return this.handle('GetFsDataInfo', async (state) => {
      const fs = state.fsById.get(request.fsId);
      if (fs === undefined) return reply(MetaStatusCode.FS_NOT_FOUND, `fs id ${request.fsId} does not exist`);
      const open = new Set<number>();
      for (const s of state.sessions.values()) {
        if (s.record.fsId === fs.fsId) for (const id of s.record.openInodeIds) open.add(id);
      }
      const openInodeIds = [...open].sort((a, b) => a - b);
      return { ...reply(MetaStatusCode.OK), fsInfo: toFsInfo(fs, state.mountpointsOf(fs.fsId), true), openInodeIds };
    });
  }

  async listFs(): Promise<Reply<M.ListFsResponse>> {
    return this.handle('ListFs', async (state) => {
      const fsInfos = [...state.fsById.values()]
        .sort((a, b) => a.fsId - b.fsId)
        .map((fs) => toFsInfo(fs, state.mountpointsOf(fs.fsId), false));
      return { ...reply(MetaStatusCode.OK), fsInfos };
    });
  }

  // ---- sessions ----

  async mountFs(request: M.MountFsRequest): Promise<Reply<M.MountFsResponse>> {
    const mountpoint = request.mountpoint;
    if (mountpoint === null || mountpoint.hostname === '' || !mountpoint.path.startsWith('/')) {
      return reply(MetaStatusCode.PARAM_ERROR, 'mount needs a hostname and an absolute mount path');
    }
    if (mountpoint.hostname.length > 255 || mountpoint.path.length > 4096) {
      return reply(MetaStatusCode.PARAM_ERROR, 'mount hostname (255) or path (4096) too long');
    }
    return this.handle('MountFs', () =>
      this.mutex.run(async () => {
        const gated = this.gate();
        if (!('state' in gated)) return gated;
        const { state, generation } = gated;
        const fs = state.fsByName.get(request.fsName);
        if (fs === undefined) return reply(MetaStatusCode.FS_NOT_FOUND, `fs ${request.fsName} does not exist`);
        if (fs.status !== FsStatus.INITED) {
          return reply(MetaStatusCode.UNAVAILABLE, `fs ${fs.fsName} is ${FsStatus[fs.status]}, not ready to mount`);
        }
        // The same host and path mounting again means the earlier mount died; its session goes.
        const stale = [...state.sessions.values()].filter(
          (s) => s.record.fsId === fs.fsId && sameMountpoint(s.record.mountpoint, mountpoint),
        );
        const record: SessionRecord = {
          sessionId: randomUUID(),
          fsId: fs.fsId,
          fsName: fs.fsName,
          mountpoint: { hostname: mountpoint.hostname, port: mountpoint.port, path: mountpoint.path },
          openInodeIds: [],
          createTimeMs: this.options.wallClock.nowMs(),
        };
        await this.options.store.txn(
          [],
          [
            ...stale.map((s) => ({ kind: 'delete' as const, key: sessionKey(s.record.sessionId) })),
            { kind: 'put', key: sessionKey(record.sessionId), value: encodeRecord(record) },
          ],
        );
        if (!this.stillCurrent(generation)) return redirect(this);
        for (const s of stale) state.sessions.delete(s.record.sessionId);
        state.sessions.set(record.sessionId, { record, expiresAtMs: this.options.clock.nowMs() + this.sessionTtlMs });
        this.options.log.info({ fsName: fs.fsName, sessionId: record.sessionId, host: mountpoint.hostname, path: mountpoint.path }, 'mds: mounted');
        return {
          ...reply(MetaStatusCode.OK),
          fsInfo: toFsInfo(fs, state.mountpointsOf(fs.fsId), true),
          sessionId: record.sessionId,
          sessionTtlMs: this.sessionTtlMs,
        };
      }),
    );
  }

  async umountFs(request: M.UmountFsRequest): Promise<Reply<M.UmountFsResponse>> {
    return this.handle('UmountFs', () =>
      this.mutex.run(async () => {
        const gated = this.gate();
        if (!('state' in gated)) return gated;
        const { state, generation } = gated;
        const mountpoint = request.mountpoint;
        const session =
          state.sessions.get(request.sessionId) ??
          [...state.sessions.values()].find(
            (s) => s.record.fsName === request.fsName && mountpoint !== null && sameMountpoint(s.record.mountpoint, mountpoint),
          );
        if (session === undefined) return reply(MetaStatusCode.NOT_FOUND, 'no such mount session (expired or already unmounted)');
        await this.options.store.delete(sessionKey(session.record.sessionId));
        // The delete is durable (and was fenced): OK even if leadership moved meanwhile.
        if (this.stillCurrent(generation)) state.sessions.delete(session.record.sessionId);
        return reply(MetaStatusCode.OK);
      }),
    );
  }

  async refreshSession(request: M.RefreshSessionRequest): Promise<Reply<M.RefreshSessionResponse>> {
    if (request.openInodeIds.length > OPEN_INODES_PER_SESSION_MAX) {
      return reply(MetaStatusCode.PARAM_ERROR, `at most ${OPEN_INODES_PER_SESSION_MAX} open inodes per session`);
    }
    return this.handle('RefreshSession', async (state, generation) => {
      const session = state.sessions.get(request.sessionId);
      if (session === undefined || (request.fsId !== 0 && request.fsId !== session.record.fsId)) {
        return reply(MetaStatusCode.NOT_FOUND, 'session expired or unknown: mount again');
      }
      const fs = state.fsById.get(session.record.fsId);
      assert(fs !== undefined, 'a session belongs to an existing fs');
      session.expiresAtMs = this.options.clock.nowMs() + this.sessionTtlMs;
      const open = [...new Set(request.openInodeIds)].sort((a, b) => a - b);
      if (!sameNumbers(open, session.record.openInodeIds)) {
        await this.mutex.run(async () => {
          if (!this.stillCurrent(generation) || state.sessions.get(request.sessionId) !== session) return;
          const updated: SessionRecord = { ...session.record, openInodeIds: open };
          await this.options.store.put(sessionKey(updated.sessionId), encodeRecord(updated));
          if (this.stillCurrent(generation)) session.record = updated;
        });
      }
      return { ...reply(MetaStatusCode.OK), sessionTtlMs: this.sessionTtlMs, fsInfo: toFsInfo(fs, state.mountpointsOf(fs.fsId), true) };
    });
  }

  /** Drops sessions whose lease ran out (their open files stop protecting inodes). Leader only. */
  async expireSessions(): Promise<number> {
    const gated = this.gate();
    if (!('state' in gated)) return 0;
    const { state, generation } = gated;
    const nowMs = this.options.clock.nowMs();
    const expired = [...state.sessions.values()].filter((s) => s.expiresAtMs <= nowMs);
    if (expired.length === 0) return 0;
    return this.mutex.run(async () => {
      let dropped = 0;
      for (const s of expired) {
        if (!this.stillCurrent(generation)) break;
        if (state.sessions.get(s.record.sessionId) !== s || s.expiresAtMs > this.options.clock.nowMs()) continue;
        await this.options.store.delete(sessionKey(s.record.sessionId));
        if (!this.stillCurrent(generation)) break;
        state.sessions.delete(s.record.sessionId);
        dropped++;
        this.options.log.info({ sessionId: s.record.sessionId, fsName: s.record.fsName }, 'mds: session expired');
      }
      return dropped;
    });
  }

  // ---- counters ----

  async allocateChunkIds(request: M.AllocateChunkIdsRequest): Promise<Reply<M.AllocateChunkIdsResponse>> {
    if (!Number.isSafeInteger(request.count) || request.count < 1 || request.count > ALLOCATE_CHUNK_IDS_MAX) {
      return reply(MetaStatusCode.PARAM_ERROR, `chunk id count must be 1..${ALLOCATE_CHUNK_IDS_MAX}, got ${request.count}`);
    }
    return this.handle('AllocateChunkIds', async (state) => {
      if (request.fsId !== 0 && !state.fsById.has(request.fsId)) {
        return reply(MetaStatusCode.FS_NOT_FOUND, `fs id ${request.fsId} does not exist`);
      }
      const start = await this.chunkIds.take(request.count);
      this.chunkIdsAllocated += request.count;
      return { ...reply(MetaStatusCode.OK), startChunkId: start, count: request.count };
    });
  }

  async tsoNext(): Promise<Reply<M.TsoResponse>> {
    return this.handle('Tso', async () => {
      const ts = await this.tso.take(1);
      return { ...reply(MetaStatusCode.OK), ts, timestampMs: this.options.wallClock.nowMs() };
    });
  }

  get currentState(): MdsState | null {
    return this.state;
  }
}

export function reply(status: MetaStatusCode, errorMessage = '', leaderHint = ''): Reply<object> & { status: MetaStatusCode } {
  return { status, leaderHint, errorMessage };
}

function redirect(core: MdsCore): Reply<object> {
  return reply(MetaStatusCode.REDIRECTED, 'leadership lost during the request', core.options.election.leaderAddress());
}

function sameMountpoint(a: Mountpoint, b: Mountpoint): boolean {
  return a.hostname === b.hostname && a.path === b.path;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function errorText(e: unknown): string {
  if (CurveError.is(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
