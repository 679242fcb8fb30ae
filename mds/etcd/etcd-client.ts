/**
 * Builds the etcd3 client the MDS uses, and small helpers around its raw
 * KV/Lease RPCs.
 *
 * Why pass-through fault policies: etcd3's defaults retry failed calls and
 * open a circuit breaker for 5 s after 3 failures. A retried conditional txn
 * can report failure for a write that did commit, and a breaker would keep a
 * new leader from reaching etcd for seconds after etcd comes back. The MDS
 * bounds every call with a deadline and decides itself what to retry.
 */
import { Etcd3 } from 'etcd3';
import type { IOptions } from 'etcd3';
import { assert } from '../../src/common/assert.js';

export const ETCD_CALL_TIMEOUT_MS = 2000;

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A policy that runs the call once and lets its error through. */
function passThroughPolicy(): Policy {
  const policy = {
    execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> {
      return Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 }));
    },
  };
  return policy as unknown as Policy;
}

export function parseEtcdEndpoints(urls: string): string[] {
  const endpoints = urls
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  assert(endpoints.length > 0, 'at least one etcd endpoint');
  return endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

export function createEtcdClient(endpoints: readonly string[]): Etcd3 {
  assert(endpoints.length > 0, 'etcd endpoints');
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: ETCD_CALL_TIMEOUT_MS,
    faultHandling: { host: () => passThroughPolicy(), global: passThroughPolicy() },
  });
}

/** gRPC call options with a deadline `timeoutMs` from now. */
export function callDeadline(timeoutMs = ETCD_CALL_TIMEOUT_MS): { deadline: Date } {
  return { deadline: new Date(Date.now() + timeoutMs) };
}

/** The smallest key greater than every key that starts with `prefix` (etcd's range_end). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * One keepalive round trip for `leaseId` on a short-lived stream. Resolves to
 * the TTL (seconds) etcd reports: 0 or less means the lease is gone.
 */
export async function keepaliveOnce(client: Etcd3, leaseId: string, timeoutMs: number): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive(callDeadline(timeoutMs));
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, ttl = 0): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        stream.cancel();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(ttl);
    };
    const timer = setTimeout(() => finish(new Error('etcd keepalive timed out')), timeoutMs);
    stream.on('data', (res) => finish(null, Number(res.TTL)));
    stream.on('error', (err) => finish(err));
    stream.on('end', () => finish(new Error('etcd keepalive stream ended')));
    stream.write({ ID: leaseId });
  });
}
