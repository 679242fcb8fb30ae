/**
 * A CHILD process running a small real metadata cluster for client e2e
 * tests: an embedded MDS and three metaservers in three zones on loopback,
 * and a file system with local object storage (`node vfs-cluster-child.js
 * DATADIR FSNAME`). Prints "ready mds=HOST:PORT" once the fs exists, then
 * runs until SIGTERM/SIGINT and stops everything it started. It serves no
 * FUSE mount (mounts are other children), so nothing here can deadlock on one.
 */
import path from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType } from '../../src/proto/types-common.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { startMds } from '../../mds/index.js';
import { startMetaserver, type Metaserver } from '../../metaserver/index.js';
import { freePort, isPortFree, LOOPBACK_HOST } from './ports.js';

const READY_TIMEOUT_MS = 30_000;

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function main(): Promise<void> {
  const [dataDir, fsName] = process.argv.slice(2);
  if (dataDir === undefined || fsName === undefined) {
    process.stderr.write('usage: vfs-cluster-child.js DATADIR FSNAME\n');
    process.exit(2);
  }
  const mds = await startMds({ listen: `${LOOPBACK_HOST}:${await freePort()}`, dataDir: path.join(dataDir, 'mds'), logger: silentLogger, backgroundTickMs: 200 });
  const servers: Metaserver[] = [];
  for (let i = 0; i < 3; i++) {
    servers.push(
      await startMetaserver({
        listen: `${LOOPBACK_HOST}:${await portPair()}`,
        dataDir: path.join(dataDir, `ms${i + 1}`),
        mds: [mds.address],
        zone: `z${i + 1}`,
        heartbeatIntervalMs: 200,
        logger: silentLogger,
      }),
    );
  }
  const client = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 5_000, totalTimeoutMs: 20_000 });
  const started = Date.now();
  for (let i = 0; i < 300 && !servers.every((s) => (s.heartbeat?.beats ?? 0) > 0); i++) {
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error('metaservers did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
  const created = await client.call('CreateFs', {
    fsName,
    storage: { type: StorageType.LOCAL, local: { path: path.join(dataDir, 'objects') } },
    rootMode: 0o40777,
  } as never);
  if (created.status !== MetaStatusCode.OK) throw new Error(`CreateFs: ${MetaStatusCode[created.status]} ${created.errorMessage ?? ''}`);
  client.close();
  process.stdout.write(`ready mds=${mds.address}\n`);
  const stop = async (): Promise<void> => {
    // Bounded: a replica stuck in shutdown must not hold the test up.
    setTimeout(() => process.exit(0), 5_000).unref();
    for (const server of servers) await server.stop().catch(() => undefined);
    await mds.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`vfs-cluster-child: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(3);
});
