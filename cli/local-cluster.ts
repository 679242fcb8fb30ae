/**
 * `curvefs local up`: a whole cluster on this machine under one data
 * directory: an MDS and 3 metaservers in 3 zones (child processes, so they
 * use other cores than the mount), a file system (local object store under
 * the data directory, or S3), mounted by this process.
 *
 * Ports are chosen on the first run and kept in DATA/cluster.json: a
 * metaserver's address is its Raft identity, so a restart must reuse it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CurveError, MetaError } from '../src/common/errors.js';
import type { Logger } from '../src/common/log.js';
import { MetaStatusCode } from '../src/common/meta-status.js';
import { OnlineState, StorageType, type StorageInfo } from '../src/proto/index.js';
import { SupervisedChild } from './child-process.js';
import { MdsToolClient } from './mds-client.js';

const HOST = '127.0.0.1';
const METASERVER_COUNT = 3;
const READY_TIMEOUT_MS = 30_000;
const REGISTER_POLL_MS = 200;
const PORT_RELEASE_WAIT_MS = 30_000;
const PORT_POLL_MS = 250;

export interface ClusterPorts {
  readonly mds: number;
  /** Service ports; each metaserver's Raft transport uses port + 1. */
  readonly metaservers: readonly number[];
}

export interface LocalClusterOptions {
  readonly dataDir: string;
  readonly fsName: string;
  /** S3 instead of the local object store when an endpoint is given. */
  readonly s3?: { endpoint: string; bucket: string; region: string; accessKey: string; secretKey: string; pathStyle: boolean };
  readonly logLevel: string;
  readonly logger: Logger;
}

export interface LocalCluster {
  readonly mdsAddress: string;
  stop(): Promise<void>;
}

const binPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'curvefs.js');

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * Lowest port of the kernel's ephemeral range. The cluster's ports are kept
 * in cluster.json and reused by every later run; a port from the ephemeral
 * range may meanwhile be the local end of some outgoing connection, and the
 * restart would then wait for it in vain. Ports below the range are only
 * ever taken by listeners.
 */
async function ephemeralLow(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const low = Number(range.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 1024 ? low : 32_768;
}

const PORT_PICK_LOW = 10_000;

/** A port below the ephemeral range that binds now, or 0 when the random pick was taken. */
async function freePort(): Promise<number> {
  const high = await ephemeralLow();
  if (high - PORT_PICK_LOW < 1_000) return kernelPickedPort();
  const port = PORT_PICK_LOW + Math.floor(Math.random() * (high - PORT_PICK_LOW));
  return (await isPortFree(port)) ? port : 0;
}

async function kernelPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A free port p with p + 1 also free (metaserver service + Raft transport). */
async function freePortPair(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port > 0 && port < 65_535 && !taken.has(port) && !taken.has(port + 1) && (await isPortFree(port + 1))) return port;
  }
  throw new CurveError('CURVEFS_ERR_UNAVAILABLE', 'no free pair of loopback ports for a metaserver');
}

/**
 * A previous run of this cluster that is still stopping (its processes
 * flush and exit after its mount is gone) holds the ports for a few
 * seconds: wait for them, bounded, before calling the cluster busy.
 */
async function waitForPortFree(port: number, file: string, logger: Logger): Promise<void> {
  const deadline = performance.now() + PORT_RELEASE_WAIT_MS;
  let isLogged = false;
  while (!(await isPortFree(port))) {
    if (performance.now() > deadline) {
      throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `port ${port} of this cluster (${file}) is in use: is it already running?`);
    }
    if (!isLogged) logger.warn({ port }, 'waiting for a previous run of this cluster to release its port');
    isLogged = true;
    await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS));
  }
}

async function loadOrChoosePorts(dataDir: string, logger: Logger): Promise<ClusterPorts> {
  const file = path.join(dataDir, 'cluster.json');
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as ClusterPorts;
    for (const port of [saved.mds, ...saved.metaservers.flatMap((p) => [p, p + 1])]) {
      await waitForPortFree(port, file, logger);
    }
    return saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const taken = new Set<number>();
  let mds = 0;
  for (let attempt = 0; attempt < 100 && mds === 0; attempt++) mds = await freePort();
  if (mds === 0) throw new CurveError('CURVEFS_ERR_UNAVAILABLE', 'no free loopback port for the MDS');
  taken.add(mds);
  const metaservers: number[] = [];
  for (let i = 0; i < METASERVER_COUNT; i++) {
    const port = await freePortPair(taken);
    taken.add(port).add(port + 1);
    metaservers.push(port);
  }
  const ports: ClusterPorts = { mds, metaservers };
  await writeFile(file + '.tmp', JSON.stringify(ports, null, 2));
  await rename(file + '.tmp', file);
  return ports;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(path.join(dataDir, 'logs'), { recursive: true });
  const ports = await loadOrChoosePorts(dataDir, options.logger);
  const mdsAddress = `${HOST}:${ports.mds}`;
  const logLevel = ['--log-level', options.logLevel];
  const children: SupervisedChild[] = [];
  const stop = async (): Promise<void> => {
    // Metaservers first (they heartbeat to the MDS), then the MDS.
    await Promise.all(children.slice(1).map((child) => child.stop()));
    await children[0]?.stop();
  };
  try {
    const mds = new SupervisedChild(
      {
        name: 'mds',
        args: [binPath, 'mds', '--listen', mdsAddress, '--data', path.join(dataDir, 'mds'), ...logLevel],
        logFile: path.join(dataDir, 'logs', 'mds.log'),
        readyPattern: /^mds: serving/m,
        readyTimeoutMs: READY_TIMEOUT_MS,
      },
      options.logger,
    );
    children.push(mds);
    await mds.start();
    await Promise.all(
      ports.metaservers.map(async (port, i) => {
        const child = new SupervisedChild(
          {
            name: `metaserver${i + 1}`,
            args: [
              binPath,
              'metaserver',
              '--listen',
              `${HOST}:${port}`,
              '--data',
              path.join(dataDir, `metaserver${i + 1}`),
              '--mds',
              mdsAddress,
              '--zone',
              `zone${i + 1}`,
              ...logLevel,
            ],
            logFile: path.join(dataDir, 'logs', `metaserver${i + 1}.log`),
            readyPattern: /^metaserver: serving/m,
            readyTimeoutMs: READY_TIMEOUT_MS,
          },
          options.logger,
        );
        children.push(child);
        await child.start();
      }),
    );
    const client = new MdsToolClient([mdsAddress]);
    try {
      await waitForMetaservers(client, METASERVER_COUNT);
      await ensureFs(client, options, dataDir);
    } finally {
      client.close();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { mdsAddress, stop };
}

async function waitForMetaservers(client: MdsToolClient, count: number): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    const topology = await client.call('ListTopology', {});
    const online = topology.metaservers.filter((m) => m.state === OnlineState.ONLINE).length;
    if (online >= count) return;
    if (performance.now() > deadline) {
      throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `only ${online} of ${count} metaservers registered with the MDS`);
    }
    await new Promise((resolve) => setTimeout(resolve, REGISTER_POLL_MS));
  }
}

async function ensureFs(client: MdsToolClient, options: LocalClusterOptions, dataDir: string): Promise<void> {
  try {
    await client.call('GetFsInfo', { fsName: options.fsName });
    return;
  } catch (error) {
    if (!(error instanceof MetaError) || (error.status !== MetaStatusCode.FS_NOT_FOUND && error.status !== MetaStatusCode.NOT_FOUND)) {
      throw error;
    }
  }
  const storage: StorageInfo = options.s3
    ? {
        type: StorageType.S3,
        s3: {
          endpoint: options.s3.endpoint,
          bucket: options.s3.bucket,
          region: options.s3.region,
          accessKey: options.s3.accessKey,
          secretKey: options.s3.secretKey,
          forcePathStyle: options.s3.pathStyle,
        },
        local: null,
        keyPrefix: '',
      }
    : { type: StorageType.LOCAL, local: { path: path.join(dataDir, 'objects') }, s3: null, keyPrefix: '' };
  await client.call('CreateFs', {
    fsName: options.fsName,
    storage,
    blockSizeBytes: 4 * 1024 * 1024,
    chunkSizeBytes: 64 * 1024 * 1024,
    rootUid: process.getuid?.() ?? 0,
    rootGid: process.getgid?.() ?? 0,
    rootMode: 0o40755,
  });
}
