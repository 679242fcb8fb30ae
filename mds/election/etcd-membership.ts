/**
 * Which MDS processes are alive, for `curvefs status`: each MDS keeps a key
 * `<prefix>members/<address>` bound to a lease of its own (separate from the
 * election lease, so a follower is listed too). A crashed MDS drops out when
 * its lease expires.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../../src/common/log.js';
import { callDeadline, keepaliveOnce, prefixRangeEnd } from '../etcd/etcd-client.js';

export const MEMBER_TTL_SECONDS = 10;
const REFRESH_MS = 3000;

export class EtcdMembership {
  private leaseId: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private isBusy = false;

  constructor(
    private readonly client: Etcd3,
    /** Full key prefix, e.g. `/curvefs/members/`. */
    private readonly prefix: string,
    private readonly address: () => string,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  private async refresh(): Promise<void> {
    if (this.isBusy) return;
    this.isBusy = true;
    try {
      if (this.leaseId !== null && (await keepaliveOnce(this.client, this.leaseId, 1000)) > 0) return;
      const grant = await this.client.leaseClient.leaseGrant({ TTL: MEMBER_TTL_SECONDS }, callDeadline());
      this.leaseId = grant.ID;
      await this.client.kv.put(
        { key: Buffer.from(this.prefix + this.address()), value: Buffer.from(this.address()), lease: grant.ID },
        callDeadline(),
      );
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'mds membership: refresh failed');
    } finally {
      this.isBusy = false;
    }
  }

  /** Addresses of live MDS processes, sorted. */
  async list(): Promise<string[]> {
    const start = Buffer.from(this.prefix);
    const res = await this.client.kv.range({ key: start, range_end: prefixRangeEnd(start) }, callDeadline());
    return res.kvs.map((kv) => kv.value.toString('utf8')).sort();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const id = this.leaseId;
    this.leaseId = null;
    if (id === null) return;
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id }, callDeadline(1000));
    } catch {
      // It expires by itself.
    }
  }
}
