/**
 * A real metadata cluster for MetaClient tests: one embedded MDS (local
 * file store) and three real metaservers (Raft, WAL) on loopback, in three
 * zones; in this process, or (`processes: true`) as child processes that
 * can be killed with SIGKILL. The metaservers do not register with the MDS themselves yet, so
 * this helper registers them over the MDS's gRPC API and heartbeats for
 * them (what a metaserver's own heartbeat will do). The MDS then creates
 * copysets, partitions and root inodes on the real metaservers through its
 * GrpcMetaserverAdmin.
 */
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType, type FsInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds, type MdsHandle } from '../../mds/index.js';
import { startMetaserver, type Metaserver } from '../../metaserver/index.js';
import { join } from 'node:path';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

export interface MetaCluster {
  readonly mds: MdsHandle;
  readonly mdsClient: RpcClient<MdsMethods>;
  readonly addresses: readonly string[];
  /** Live in-process metaservers by index (undefined while stopped, or with `processes`). */
  readonly servers: (Metaserver | undefined)[];
  /** Live metaserver processes by index (with `processes`). */
  readonly processes: (ProcessHandle | undefined)[];
  createFs(name: string): Promise<FsInfo>;
  /** Stops metaserver `index`: gracefully, or with SIGKILL (processes only). */
  stopServer(index: number, how?: 'graceful' | 'kill'): Promise<void>;
  startServer(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** A port whose successor is free too (the Raft transport listens on port + 1). */
async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

export interface MetaClusterOptions {
  tickMs?: number;
  sessionTtlMs?: number;
  processes?: boolean;
  /** With `processes`: another child script, given `HOST:PORT DATA_DIR` then `args(mdsAddress)`. */
  child?: { script: string; args: (mdsAddress: string) => string[] };
}

export async function startMetaCluster(options: MetaClusterOptions = {}): Promise<MetaCluster> {
  const dirs: TempDir[] = [];
  const mdsDir = await makeTempDir('meta-client-mds');
  const objectsDir = await makeTempDir('meta-client-objects');
  dirs.push(mdsDir, objectsDir);
  const mds = await startMds({
    listen: `${LOOPBACK_HOST}:0`,
    dataDir: mdsDir.path,
    logger: silentLogger,
    backgroundTickMs: 200,
    ...(options.sessionTtlMs !== undefined ? { sessionTtlMs: options.sessionTtlMs } : {}),
  });
  const mdsClient = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 5_000, totalTimeoutMs: 30_000 });
  const addresses: string[] = [];
  const dataDirs: TempDir[] = [];
  const servers: (Metaserver | undefined)[] = [];
  const processes: (ProcessHandle | undefined)[] = [];
  const timers: NodeJS.Timeout[] = [];
  const startServer = async (i: number): Promise<void> => {
    if (options.processes === true) {
      processes[i] = await startProcess({
        name: `metaserver-${i}`,
        command: process.execPath,
        args: [
          options.child?.script ?? join(import.meta.dirname, 'meta-client-server-child.js'),
          addresses[i]!,
          dataDirs[i]!.path,
          ...(options.child?.args(mds.address) ?? []),
        ],
        ready: { kind: 'line', pattern: /metaserver ready/ },
        readyTimeoutMs: 30_000,
      });
      return;
    }
    servers[i] = await startMetaserver({ listen: addresses[i]!, dataDir: dataDirs[i]!.path, mds: [], tickMs: options.tickMs ?? 50 });
  };
  const stopAll = async (): Promise<void> => {
    for (const s of servers) await s?.stop();
    for (const p of processes) await p?.stop();
  };
  try {
    for (let i = 0; i < 3; i++) {
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
      const dir = await makeTempDir(`meta-client-ms${i}`);
      dataDirs.push(dir);
      dirs.push(dir);
      await startServer(i);
      const port = Number(addresses[i]!.split(':')[1]);
      const registered = await mdsClient.callOk('RegisterMetaServer', {
        hostname: `ms-${i}`,
        internalIp: LOOPBACK_HOST,
        internalPort: port,
        zone: `zone${i + 1}`,
        pool: 'default',
      });
      const beat = (): Promise<unknown> =>
        mdsClient
          .call('MetaServerHeartbeat', {
            metaserverId: registered.metaserverId,
            token: registered.token,
            internalIp: LOOPBACK_HOST,
            internalPort: port,
            space: { diskCapacityBytes: 1 << 30, diskUsedBytes: 1 << 20, memoryUsedBytes: 1 << 20 },
          })
          .catch(() => undefined);
      await beat();
      const timer = setInterval(() => void beat(), 500);
      timer.unref();
      timers.push(timer);
    }
  } catch (error) {
    for (const t of timers) clearInterval(t);
    await stopAll();
    mdsClient.close();
    await mds.stop();
    for (const d of dirs) await d.remove();
    throw error;
  }
  return {
    mds,
    mdsClient,
    addresses,
    servers,
    processes,
    async createFs(name) {
      const reply = await mdsClient.call('CreateFs', {
        fsName: name,
        storage: { type: StorageType.LOCAL, local: { path: objectsDir.path }, keyPrefix: '' },
        rootMode: 0o40755,
      });
      if (reply.status !== MetaStatusCode.OK || reply.fsInfo === null) {
        throw new Error(`CreateFs ${name}: ${MetaStatusCode[reply.status]} ${reply.errorMessage}`);
      }
      return reply.fsInfo;
    },
    async stopServer(i, how = 'graceful') {
      await servers[i]?.stop();
      servers[i] = undefined;
      if (how === 'kill') await processes[i]?.kill();
      else await processes[i]?.stop();
      processes[i] = undefined;
    },
    startServer,
    async stop() {
      for (const t of timers) clearInterval(t);
      await stopAll();
      mdsClient.close();
      await mds.stop();
      for (const d of dirs) await d.remove();
    },
  };
}
