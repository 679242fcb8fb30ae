/**
 * The MDS process: `startMds(options)` wires the store (etcd or a local
 * file), the election, the core handlers, the gRPC server, background jobs
 * (session expiry, scheduling) and metrics. The CLI (`curvefs mds`) calls it.
 *
 * Modes:
 * - embedded (no etcdEndpoints): one MDS, always leader, state in
 *   `<dataDir>/mds-store.json` (atomic fsync'd rewrites);
 * - HA (etcdEndpoints): all state in etcd under `etcdPrefix`; MDS processes
 *   campaign on a lease; followers answer REDIRECTED with the leader address.
 */
import { networkInterfaces } from 'node:os';
import { Registry } from 'prom-client';
import { assert } from '../src/common/assert.js';
import { ConfigError } from '../src/common/errors.js';
import { MonotonicClock, SystemClock, type Clock } from '../src/common/clock.js';
import { createLogger, type Logger } from '../src/common/log.js';
import { mdsService } from '../src/proto/index.js';
import { RpcServer } from '../src/rpc/index.js';
import { MdsCore } from './core/mds-core.js';
import type { MetaserverAdmin } from './core/metaserver-admin.js';
import { GrpcMetaserverAdmin } from './core/grpc-metaserver-admin.js';
import { ELECTION_KEY } from './core/records.js';
import { EtcdElection } from './election/etcd-election.js';
import { EtcdMembership } from './election/etcd-membership.js';
import { SoleLeaderElection, type LeaderElection } from './election/leader-election.js';
import { createEtcdClient, parseEtcdEndpoints } from './etcd/etcd-client.js';
export { parseEtcdEndpoints } from './etcd/etcd-client.js';
import { checkStorageReachable, type StorageChecker } from './fs/storage-check.js';
import { registerMdsMetrics } from './mds-metrics.js';
import { mdsHandlers } from './service/mds-service.js';
import { EtcdStore } from './store/etcd-store.js';
import { LocalFileStore } from './store/local-file-store.js';
import type { MdsStore } from './store/mds-store.js';

export type { MetaserverAdmin, CopysetTarget, RootInodeSpec } from './core/metaserver-admin.js';
export { GrpcMetaserverAdmin } from './core/grpc-metaserver-admin.js';
export type { MdsStore, KeyValue, Compare, StoreOp, TxnResult } from './store/mds-store.js';
export { LocalFileStore } from './store/local-file-store.js';
export { EtcdStore } from './store/etcd-store.js';
export { checkStorageReachable, type StorageChecker } from './fs/storage-check.js';

export interface StartMdsOptions {
  /** "host:port" to listen on; port 0 picks a free one. */
  readonly listen: string;
  /** Data directory (embedded store; unused with etcd). */
  readonly dataDir: string;
  /** etcd client URLs: HA mode. Empty or absent: embedded mode. */
  readonly etcdEndpoints?: readonly string[];
  /** Key prefix in etcd (default '/curvefs/'); one prefix per cluster. */
  readonly etcdPrefix?: string;
  /** Address other processes reach this MDS at (default: the bound listen address). */
  readonly advertiseAddress?: string;
  /** How the MDS reaches metaservers (default: gRPC, GrpcMetaserverAdmin). */
  readonly admin?: MetaserverAdmin;
  /** Storage reachability check on CreateFs (default: HeadBucket / local probe file). */
  readonly checkStorage?: StorageChecker;
  readonly logger?: Logger;
  /** Metrics registry (default: a new one, read it from the handle). */
  readonly registry?: Registry;
  readonly electionTtlSeconds?: number;
  readonly sessionTtlMs?: number;
  readonly metaserverOfflineMs?: number;
  /** Period of session expiry and scheduling rounds (default 1000 ms). */
  readonly backgroundTickMs?: number;
  readonly chunkIdBatch?: number;
  /** How long the scheduler leaves a copyset alone after an operation on it (default 5000 ms). */
  readonly scheduleCooldownMs?: number;
  readonly clock?: Clock;
}

export interface MdsHandle {
  /** "host:port" clients dial (the advertise address). */
  readonly address: string;
  readonly registry: Registry;
  /** True while this MDS acts as leader with its state loaded. */
  isLeader(): boolean;
  /** The leader's address as this MDS knows it ('' when unknown). */
  leaderAddress(): string;
  /** Graceful: a leader resigns so another MDS takes over at once. */
  stop(): Promise<void>;
}

export async function startMds(options: StartMdsOptions): Promise<MdsHandle> {
  const [host, portText] = splitHostPort(options.listen);
  const log = options.logger ?? createLogger({ name: 'mds' });
  const clock = options.clock ?? new MonotonicClock();
  const registry = options.registry ?? new Registry();
  const server = new RpcServer({ host, port: Number(portText), logger: log });
  // Bind first: the advertised address (the election value) needs the real port.
  // Handlers are added before start() but only reachable once it resolves.
  const isHa = options.etcdEndpoints !== undefined && options.etcdEndpoints.length > 0;
  let address = '';
  let store: MdsStore;
  let election: LeaderElection;
  let closeEtcd: () => void = () => {};
  let etcdStore: EtcdStore | null = null;
  let membership: EtcdMembership | null = null;
  if (isHa) {
    const client = createEtcdClient(parseEtcdEndpoints(options.etcdEndpoints!.join(',')));
    closeEtcd = () => client.close();
    const prefix = options.etcdPrefix ?? '/curvefs/';
    etcdStore = new EtcdStore(client, prefix, true);
    store = etcdStore;
    const fenced = etcdStore;
    membership = new EtcdMembership(client, `${prefix}members/`, () => address, log);
    election = new EtcdElection({
      client,
      key: prefix + ELECTION_KEY,
      // Read lazily: known once the server is bound.
      get address() {
        return address;
      },
      clock,
      log,
      ...(options.electionTtlSeconds !== undefined ? { ttlSeconds: options.electionTtlSeconds } : {}),
      onFence: (fence) => fenced.setFence(fence),
    });
  } else {
    store = await LocalFileStore.open(options.dataDir);
    election = new SoleLeaderElection(options.listen);
  }
  const admin = options.admin ?? new GrpcMetaserverAdmin(log);
  const core = new MdsCore({
    store,
    election,
    admin,
    checkStorage: options.checkStorage ?? checkStorageReachable,
    clock,
    wallClock: new SystemClock(),
    log,
    ...(options.sessionTtlMs !== undefined ? { sessionTtlMs: options.sessionTtlMs } : {}),
    ...(options.metaserverOfflineMs !== undefined ? { metaserverOfflineMs: options.metaserverOfflineMs } : {}),
    ...(options.chunkIdBatch !== undefined ? { chunkIdBatch: options.chunkIdBatch } : {}),
    ...(options.scheduleCooldownMs !== undefined ? { scheduleCooldownMs: options.scheduleCooldownMs } : {}),
  });
  const members = membership;
  server.addService(
    mdsService(),
    mdsHandlers(core, () => address, async () => (members === null ? [address] : members.list())),
  );
  registerMdsMetrics(registry, core);
  try {
    const port = await server.start();
    address = options.advertiseAddress ?? `${dialableHost(host)}:${port}`;
  } catch (e) {
    closeEtcd();
    await store.close();
    throw e;
  }
  assert(address.length > 0, 'advertise address');
  if (!isHa) (election as SoleLeaderElection).setAddress(address);
  election.start();
  membership?.start();

  // Background jobs: one tick, never overlapping itself.
  const tickMs = options.backgroundTickMs ?? 1000;
  let isTicking = false;
  let isStopped = false;
  const timer = setInterval(() => {
    if (isTicking || isStopped || !core.isServing()) return;
    isTicking = true;
    void (async () => {
      try {
        await core.expireSessions();
        await core.topology.runSchedule();
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'mds: background tick failed');
      } finally {
        isTicking = false;
      }
    })();
  }, tickMs);
  log.info({ address, mode: isHa ? 'etcd' : 'embedded' }, 'mds: started');

  return {
    address,
    registry,
    isLeader: () => core.isServing(),
    leaderAddress: () => election.leaderAddress(),
    async stop(): Promise<void> {
      if (isStopped) return;
      isStopped = true;
      clearInterval(timer);
      await membership?.stop();
      await election.stop();
      core.stop();
      await server.shutdown();
      if (admin instanceof GrpcMetaserverAdmin && options.admin === undefined) admin.close();
      await store.close();
      closeEtcd();
      log.info({ address }, 'mds: stopped');
    },
  };
}

function splitHostPort(listen: string): [string, string] {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(listen);
  if (match === null) throw new ConfigError('listen', `must be HOST:PORT, got ${JSON.stringify(listen)}`);
  const host = match[1]!.replace(/^\[|\]$/g, '');
  return [host, match[2]!];
}

/** A wildcard listen address is not something another process can dial: name an interface instead. */
function dialableHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host.includes(':') ? `[${host}]` : host;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
