/**
 * A mount's session at the MDS (DESIGN §8): MountFs opens it, a timer
 * refreshes it well inside its ttl, each refresh carries the complete set of
 * inodes this mount holds open (so the deletion service keeps an unlinked
 * inode while any live session lists it), UmountFs closes it.
 *
 * Opens nest: the set holds an inode while its open count is above zero.
 * registerOpen does not wait for the MDS: a newly opened inode triggers a
 * refresh within OPEN_REGISTRATION_BATCH_MS (opens arriving meanwhile share
 * it), so an open costs no round trip and the MDS sees a few refreshes per
 * second per busy mount instead of two per open. The last close of an inode
 * rides the same batched refresh. The deletion service makes
 * this safe: it deletes an unlinked inode only after its leader has seen it
 * unlinked for unlinkGraceMs (5 s, metaserver/deletion), far longer than the
 * batch, so an open that happened before the unlink is listed by then.
 * Refreshes are serialised and coalesced: callers arriving while one is
 * queued share it. If the MDS no longer knows the session (it expired while
 * we were cut off), the mount is re-established under a new session id.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { FsInfo, Mountpoint } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { RpcClient } from '../../src/rpc/index.js';

/** Refresh period bounds: a third of the ttl, within these. */
const REFRESH_MS_MIN = 200;
const REFRESH_MS_MAX = 5_000;
/** A newly opened inode reaches the MDS within about this long. */
export const OPEN_REGISTRATION_BATCH_MS = 200;

export class MountSession {
  private readonly openCounts = new Map<number, number>();
  private sessionId = '';
  private ttlMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private openBatchTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private isClosed = false;
  /** Latest FsInfo the MDS sent (mount or refresh). */
  fsInfo!: FsInfo;
  refreshCount = 0;

  private constructor(
    private readonly mds: RpcClient<MdsMethods>,
    private readonly fsName: string,
    private readonly mountpoint: Mountpoint,
    private readonly logger: Logger,
  ) {}

  static async open(mds: RpcClient<MdsMethods>, fsName: string, mountpoint: Mountpoint, logger: Logger): Promise<MountSession> {
    const session = new MountSession(mds, fsName, mountpoint, logger);
    await session.mount();
    session.schedule();
    return session;
  }

  get id(): string {
    return this.sessionId;
  }

  get fsId(): number {
    return this.fsInfo.fsId;
  }

  /** Inodes currently registered as open (sorted). */
  openInodeIds(): number[] {
    return [...this.openCounts.keys()].sort((a, b) => a - b);
  }

  async registerOpen(inodeId: number): Promise<void> {
    assert(Number.isSafeInteger(inodeId) && inodeId > 0, `inode id ${inodeId}`);
    const count = this.openCounts.get(inodeId) ?? 0;
    this.openCounts.set(inodeId, count + 1);
    if (count === 0) this.refreshSoon();
  }

  /** One refresh within OPEN_REGISTRATION_BATCH_MS, shared by every open until then. */
  private refreshSoon(): void {
    if (this.openBatchTimer !== null || this.isClosed) return;
    this.openBatchTimer = setTimeout(() => {
      this.openBatchTimer = null;
      if (this.isClosed) return;
      this.refreshNow().catch((error: unknown) =>
        this.logger.warn({ err: (error as Error).message }, 'meta: session refresh after open failed'),
      );
    }, OPEN_REGISTRATION_BATCH_MS);
    this.openBatchTimer.unref();
  }

  async unregisterOpen(inodeId: number): Promise<void> {
    const count = this.openCounts.get(inodeId) ?? 0;
    assert(count > 0, `unregisterOpen of inode ${inodeId} that is not open`);
    if (count > 1) {
      this.openCounts.set(inodeId, count - 1);
      return;
    }
    this.openCounts.delete(inodeId);
    // Listing a closed inode a little longer is harmless (it only delays its
    // deletion): closes share the batched refresh with opens rather than
    // costing an MDS round trip each (a create+close loop made one per file).
    this.refreshSoon();
  }

  /** One refresh after every change so far (coalesced with a queued one). */
  refreshNow(): Promise<void> {
    assert(!this.isClosed, 'session is closed');
    if (this.queued !== null) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.refreshOnce();
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.openBatchTimer !== null) clearTimeout(this.openBatchTimer);
    await this.chain;
    const reply = await this.mds.call('UmountFs', { fsName: this.fsName, sessionId: this.sessionId, mountpoint: this.mountpoint });
    // NOT_FOUND: the session had expired already; the mount is gone either way.
    if (reply.status !== MetaStatusCode.OK && reply.status !== MetaStatusCode.NOT_FOUND) {
      this.logger.warn({ status: MetaStatusCode[reply.status], detail: reply.errorMessage }, 'meta: umount failed');
    }
  }

  private async mount(): Promise<void> {
    const reply = await this.mds.callOk('MountFs', { fsName: this.fsName, mountpoint: this.mountpoint });
    assert(reply.fsInfo !== null && reply.sessionId !== '', 'MountFs returns the fs and a session');
    this.fsInfo = reply.fsInfo;
    this.sessionId = reply.sessionId;
    this.ttlMs = reply.sessionTtlMs;
    this.logger.info({ fsName: this.fsName, fsId: reply.fsInfo.fsId, ttlMs: this.ttlMs }, 'meta: mounted');
  }

  private async refreshOnce(): Promise<void> {
    const request = { fsId: this.fsInfo.fsId, sessionId: this.sessionId, openInodeIds: this.openInodeIds() };
    let reply = await this.mds.call('RefreshSession', request, { isIdempotent: true });
    if (reply.status === MetaStatusCode.NOT_FOUND && !this.isClosed) {
      this.logger.warn({ fsName: this.fsName }, 'meta: session expired at the MDS; mounting again');
      await this.mount();
      reply = await this.mds.call('RefreshSession', { ...request, sessionId: this.sessionId }, { isIdempotent: true });
    }
    if (reply.status !== MetaStatusCode.OK) {
      throw new MetaError(reply.status, `RefreshSession: ${MetaStatusCode[reply.status]} ${reply.errorMessage}`);
    }
    this.refreshCount += 1;
    if (reply.sessionTtlMs > 0) this.ttlMs = reply.sessionTtlMs;
    if (reply.fsInfo !== null) this.fsInfo = reply.fsInfo;
  }

  private schedule(): void {
    if (this.isClosed) return;
    const periodMs = Math.min(REFRESH_MS_MAX, Math.max(REFRESH_MS_MIN, Math.floor(this.ttlMs / 3)));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refreshNow()
        .catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'meta: session refresh failed'))
        .finally(() => this.schedule());
    }, periodMs);
    this.timer.unref();
  }
}
