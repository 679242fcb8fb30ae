/**
 * The metaserver process: hosts copysets (Raft groups of inodes and
 * dentries) under one data directory and serves the MetaServer gRPC
 * service.
 *
 * Two ports: the MetaServer service on `listen`, and the Raft transport on
 * the next port (`host:port+1`, or `raftListen`). A replica's Raft id is its
 * service address, so a follower's leader hint is directly the address
 * clients dial; peers' transport addresses follow the same +1 rule.
 *
 * With `mds` addresses it registers with the MDS and heartbeats every
 * copyset it hosts (heartbeat/mds-heartbeat.ts); the MDS then creates
 * copysets and partitions here by RPC. Without, tests create them directly.
 */
import { mkdir } from 'node:fs/promises';
import { assert } from '../src/common/assert.js';
import { ConfigError } from '../src/common/errors.js';
import { GrpcTransport } from '../src/raft/multi/grpc-transport.js';
import { RaftHost } from '../src/raft/multi/raft-host.js';
import { IntervalTicker } from '../src/raft/node/ticker.js';
import { RpcServer } from '../src/rpc/rpc-server.js';
import { metaServerService } from '../src/proto/index.js';
import { CopysetManager } from './copyset/copyset-manager.js';
import type { CopysetNodeOptions } from './copyset/copyset-node.js';
import { MdsHeartbeat } from './heartbeat/mds-heartbeat.js';
import { MdsTxLocator, NO_REMOTE_PARTITIONS } from './copyset/mds-tx-locator.js';
import { TxSweeper, type TxLocator } from './copyset/tx-sweeper.js';
import { metaServerHandlers } from './service/metaserver-service.js';
import type { Logger } from '../src/common/log.js';
import { Registry } from 'prom-client';
import { countedHandlers, registerMetaserverMetrics } from './metaserver-metrics.js';
import { DataServices, type DataServicesOptions } from './compaction/data-services.js';
import { MdsFsDataSource, type FsDataSource } from './deletion/fs-data.js';

export interface MetaserverOptions {
  /** "host:port" of the MetaServer service (the port must be fixed: peers derive the Raft port from it). */
  readonly listen: string;
  readonly dataDir: string;
  /** MDS addresses. */
  readonly mds: readonly string[];
  readonly zone?: string;
  /** Raft transport address; default host:(port+1). */
  readonly raftListen?: string;
  /** Where to dial a peer's Raft transport, given its id (service address); default raftAddressOf (tests route through proxies). */
  readonly raftResolve?: (id: string) => string;
  /** Raft tick interval (default 100 ms: election ~1 s, heartbeats ~100 ms). */
  readonly tickMs?: number;
  readonly raft?: CopysetNodeOptions['raft'];
  readonly heartbeatIntervalMs?: number;
  /** Rename-transaction sweeper: round interval and grace after a lock's ttl (defaults 10 s, 30 s). */
  readonly txSweepIntervalMs?: number;
  readonly txSweepGraceMs?: number;
  /** Where partitions not led here live (default: through the MDS; none without MDS addresses). */
  readonly txLocator?: TxLocator;
  readonly logger?: Logger;
  /** Metrics registry (default: a new one, read it from the handle). */
  readonly registry?: Registry;
  /**
   * Compaction and data deletion (DESIGN §8, §9), on by default when there
   * are MDS addresses (they learn each fs's storage and open files there)
   * or a `source` is given.
   */
  readonly dataServices?: Omit<DataServicesOptions, 'copysets' | 'source' | 'registry' | 'logger'> & {
    readonly enabled?: boolean;
    readonly source?: FsDataSource;
  };
}

export interface Metaserver {
  /** "host:port" of the MetaServer service; also this replica's Raft id. */
  readonly address: string;
  readonly raftAddress: string;
  readonly copysets: CopysetManager;
  readonly zone: string;
  readonly mds: readonly string[];
  /** Undefined without MDS addresses. */
  readonly heartbeat: MdsHeartbeat | undefined;
  readonly txSweeper: TxSweeper;
  readonly registry: Registry;
  /** Compaction and data deletion; undefined when off (no MDS, or disabled). */
  readonly dataServices: DataServices | undefined;
  stop(): Promise<void>;
}

export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError('listen', `bad address "${address}"`);
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The Raft transport address of the metaserver whose service listens on `address`. */
export function raftAddressOf(address: string): string {
  const { host, port } = splitAddress(address);
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port + 1}`;
}

export async function startMetaserver(options: MetaserverOptions): Promise<Metaserver> {
  const { host, port } = splitAddress(options.listen);
  if (port === 0) throw new ConfigError('listen', 'needs a fixed port (peers derive the Raft port from it)');
  await mkdir(options.dataDir, { recursive: true });
  const address = options.listen;
  const raftAddress = options.raftListen ?? raftAddressOf(address);
  const transport = await GrpcTransport.start({ listenAddress: raftAddress, localId: address, resolve: options.raftResolve ?? raftAddressOf });
  const ticker = new IntervalTicker(options.tickMs ?? 100);
  const raftHost = new RaftHost(transport, ticker);
  const copysets = new CopysetManager(options.dataDir, raftHost, options.raft ?? {});
  const locator = options.txLocator ?? (options.mds.length > 0 ? new MdsTxLocator(options.mds) : NO_REMOTE_PARTITIONS);
  const txSweeper = new TxSweeper({
    copysets,
    locator,
    ...(options.txSweepIntervalMs === undefined ? {} : { intervalMs: options.txSweepIntervalMs }),
    ...(options.txSweepGraceMs === undefined ? {} : { graceMs: options.txSweepGraceMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const registry = options.registry ?? new Registry();
  const requests = registerMetaserverMetrics(registry, copysets, txSweeper);
  let server: RpcServer | undefined;
  try {
    await copysets.loadExisting();
    server = new RpcServer({ host, port, ...(options.logger === undefined ? {} : { logger: options.logger }) });
    server.addService(metaServerService(), countedHandlers(metaServerHandlers(copysets), requests));
    const bound = await server.start();
    assert(bound === port, `service bound to ${bound}, asked ${port}`);
  } catch (error) {
    await server?.shutdown(0);
    await raftHost.close();
    if (locator instanceof MdsTxLocator) locator.close();
    throw error;
  }
  const heartbeat =
    options.mds.length === 0
      ? undefined
      : new MdsHeartbeat({
          mds: options.mds,
          address,
          zone: options.zone ?? 'zone1',
          copysets,
          ...(options.heartbeatIntervalMs === undefined ? {} : { intervalMs: options.heartbeatIntervalMs }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        });
  heartbeat?.start();
  txSweeper.start();
  const dataOptions = options.dataServices ?? {};
  const dataSource = dataOptions.source ?? (options.mds.length > 0 ? new MdsFsDataSource(options.mds) : undefined);
  const dataServices =
    dataOptions.enabled === false || dataSource === undefined
      ? undefined
      : new DataServices({
          ...dataOptions,
          copysets,
          source: dataSource,
          registry,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        });
  dataServices?.start();
  let isStopped = false;
  return {
    address,
    raftAddress,
    copysets,
    zone: options.zone ?? 'zone1',
    mds: [...options.mds],
    heartbeat,
    txSweeper,
    registry,
    dataServices,
    async stop() {
      if (isStopped) return;
      isStopped = true;
      await dataServices?.stop();
      await txSweeper.stop();
      if (locator instanceof MdsTxLocator) locator.close();
      await heartbeat?.stop();
      await server!.shutdown();
      await raftHost.close();
    },
  };
}
