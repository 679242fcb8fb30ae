/**
 * Leader election on etcd, the way CurveFS's MDS does it: campaign by
 * creating one election key bound to a lease (TTL ~5 s); the winner keeps the
 * lease alive and re-reads its key every tick; the others poll the key to
 * learn the leader's address and campaign when it disappears.
 *
 * Why a leader stops AT ONCE: `isActing()` compares the clock with a deadline
 * = (send time of the last successful keepalive) + TTL − margin. etcd can only
 * expire the lease at least TTL after it received that keepalive, which is
 * after we sent it; so the old leader stops answering before any other MDS can
 * win. Writes are additionally fenced inside etcd (etcd-store.ts), so even a
 * stalled leader (GC pause, SIGSTOP) cannot write after it was deposed.
 */
import type { Etcd3 } from 'etcd3';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import { callDeadline, keepaliveOnce } from '../etcd/etcd-client.js';
import type { Fence } from '../store/etcd-store.js';
import type { Logger } from '../../src/common/log.js';
import type { LeaderElection } from './leader-election.js';

export interface EtcdElectionOptions {
  readonly client: Etcd3;
  /** Full etcd key of the election (e.g. `/curvefs/election/leader`). */
  readonly key: string;
  /** This MDS's advertised "host:port", stored as the key's value. */
  readonly address: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly ttlSeconds?: number;
  /** Safety margin subtracted from the lease for clock drift and scheduling delay. */
  readonly marginMs?: number;
  /** How often a follower polls the key. */
  readonly pollMs?: number;
  /** Called with the fence when leading starts and null when it ends. */
  readonly onFence: (fence: Fence | null) => void;
}

export class EtcdElection implements LeaderElection {
  private readonly ttlSeconds: number;
  private readonly marginMs: number;
  private readonly pollMs: number;
  private readonly tickMs: number;
  private listeners: Array<(isLeading: boolean) => void> = [];
  private isLeading = false;
  private leaseId: string | null = null;
  private fence: Fence | null = null;
  /** Clock time after which this leader must not act (see header). */
  private actingDeadlineMs = 0;
  private knownLeader = '';
  private isStopped = true;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;

  constructor(private readonly options: EtcdElectionOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 5;
    this.marginMs = options.marginMs ?? 1000;
    this.pollMs = options.pollMs ?? 300;
    assert(this.ttlSeconds >= 2 && this.ttlSeconds <= 60, `election ttl ${this.ttlSeconds}s`);
    assert(this.marginMs > 0 && this.marginMs < this.ttlSeconds * 1000 / 2, 'election margin below half the ttl');
    // Several keepalives fit in the acting window, so one lost round trip does not depose us.
    this.tickMs = Math.max(100, Math.floor((this.ttlSeconds * 1000 - this.marginMs) / 4));
  }

  isActing(): boolean {
    return this.isLeading && this.options.clock.nowMs() < this.actingDeadlineMs;
  }

  leaderAddress(): string {
    if (this.isActing()) return this.options.address;
    // A deposed leader does not know who leads now; it must not name itself.
    return this.knownLeader === this.options.address ? '' : this.knownLeader;
  }

  onChange(listener: (isLeading: boolean) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    assert(this.isStopped, 'election started twice');
    this.isStopped = false;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.wakeUp?.();
    await this.loopDone;
    if (this.isLeading) this.stepDown('stopping');
    await this.revokeLease();
  }

  private async loop(): Promise<void> {
    while (!this.isStopped) {
      try {
        if (this.isLeading) await this.keepaliveTick();
        else await this.campaignOnce();
      } catch (e) {
        this.options.log.warn({ err: errorText(e) }, 'mds election: etcd call failed');
      }
      if (this.isLeading && !this.isActing()) this.stepDown('lease deadline passed without a keepalive');
      if (this.isStopped) break;
      await this.sleep(this.isLeading ? this.tickMs : this.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async campaignOnce(): Promise<void> {
    const { client, key, address } = this.options;
    const keyBuffer = Buffer.from(key);
    // A lease left from an attempt whose outcome we never learned (a timed-out txn
    // may have committed and made us the silent holder of the key): give it back
    // so the key does not sit there, unserved, until the lease expires.
    await this.revokeLease();
    const current = await client.kv.range({ key: keyBuffer }, callDeadline());
    const holder = current.kvs[0];
    if (holder) {
      this.knownLeader = holder.value.toString('utf8');
      return;
    }
    this.knownLeader = '';
    // The deadline counts from before the grant: etcd starts the TTL after receiving it.
    const grantSentMs = this.options.clock.nowMs();
    const grant = await client.leaseClient.leaseGrant({ TTL: this.ttlSeconds }, callDeadline());
    assert(Number(grant.TTL) > 0, 'granted lease has a ttl');
    this.leaseId = grant.ID;
    const res = await client.kv.txn(
      {
        compare: [{ key: keyBuffer, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: keyBuffer, value: Buffer.from(address), lease: grant.ID } }],
        failure: [{ request_range: { key: keyBuffer } }],
      },
      callDeadline(),
    );
    if (!res.succeeded) {
      const winner = res.responses[0]?.response_range?.kvs[0];
      this.knownLeader = winner ? winner.value.toString('utf8') : '';
      await this.revokeLease();
      return;
    }
    if (this.isStopped) {
      await this.revokeLease();
      return;
    }
    this.fence = { key, createRevision: res.header.revision };
    this.actingDeadlineMs = grantSentMs + this.ttlSeconds * 1000 - this.marginMs;
    this.knownLeader = address;
    this.isLeading = true;
    this.options.log.info({ address, revision: res.header.revision }, 'mds election: became leader');
    this.options.onFence(this.fence);
    for (const listener of this.listeners) listener(true);
  }

  private async keepaliveTick(): Promise<void> {
    assert(this.leaseId !== null && this.fence !== null, 'a leader holds a lease and a fence');
    const sentMs = this.options.clock.nowMs();
    const remainingMs = this.actingDeadlineMs - sentMs;
    if (remainingMs <= 0) return; // the loop steps down
    const ttl = await keepaliveOnce(this.options.client, this.leaseId, Math.max(50, Math.min(remainingMs, 1000)));
    if (ttl <= 0) {
      this.stepDown('lease expired');
      return;
    }
    // Watch our own key: someone may have deleted it (operator, lease revoke).
    const current = await this.options.client.kv.range({ key: Buffer.from(this.options.key) }, callDeadline(Math.min(1000, Math.max(50, this.actingDeadlineMs - this.options.clock.nowMs()))));
    const kv = current.kvs[0];
    if (!kv || kv.create_revision !== this.fence.createRevision) {
      this.stepDown('election key lost');
      return;
    }
    if (this.isLeading) this.actingDeadlineMs = Math.max(this.actingDeadlineMs, sentMs + ttl * 1000 - this.marginMs);
  }

  private stepDown(reason: string): void {
    if (!this.isLeading) return;
    this.isLeading = false;
    this.actingDeadlineMs = 0;
    this.fence = null;
    this.knownLeader = '';
    this.options.log.warn({ reason }, 'mds election: stopped leading');
    this.options.onFence(null);
    for (const listener of this.listeners) listener(false);
    void this.revokeLease();
  }

  private async revokeLease(): Promise<void> {
    const id = this.leaseId;
    if (id === null) return;
    this.leaseId = null;
    try {
      await this.options.client.leaseClient.leaseRevoke({ ID: id }, callDeadline(1000));
    } catch {
      // Unreachable etcd: the lease expires on its own after the TTL.
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
