/**
 * Raw MetaServer RPC throughput against three metaserver processes (one
 * copyset, WAL fsync on): CreateInode + CreateDentry pairs, GetDentry
 * lookups and GetInode, with N concurrent callers. It measures the service
 * and Raft path without the client library's caches. `--in-process` runs
 * the three metaservers in the bench's own process instead.
 *
 *   node dist/bench/metaserver-rpc-bench.js [--callers 32] [--seconds 5] [--in-process]
 *
 * Last line: `metaserver-rpc: create <ops/s> lookup <ops/s> getattr <ops/s> at <n> callers`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metaServerService } from '../src/proto/index.js';
import type { MetaServerMethods } from '../src/proto/types-metaserver.js';
import { RpcClient } from '../src/rpc/rpc-client.js';
import { startMetaserver, type Metaserver } from '../metaserver/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await portFree(port)) && (await portFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function phase(name: string, callers: number, seconds: number, op: (caller: number, i: number) => Promise<void>): Promise<number> {
  const latencies: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; performance.now() < endAt; i++) {
        const started = performance.now();
        await op(caller, i);
        latencies.push(performance.now() - started);
        count += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const rate = Math.round(count / seconds);
  console.log(`${name}: ${rate} ops/s, p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms (${callers} callers)`);
  return rate;
}

async function main(): Promise<void> {
  const callers = arg('--callers', 32);
  const seconds = arg('--seconds', 5);
  const root = await mkdtemp(join(tmpdir(), 'curvefs-ms-bench-'));
  const servers: Metaserver[] = [];
  const children: ChildProcess[] = [];
  const addresses: string[] = [];
  for (let i = 0; i < 3; i++) addresses.push(`127.0.0.1:${await portPair()}`);
  if (process.argv.includes('--in-process')) {
    for (let i = 0; i < 3; i++) servers.push(await startMetaserver({ listen: addresses[i]!, dataDir: join(root, `ms${i}`), mds: [] }));
  } else {
    const script = fileURLToPath(new URL('./metaserver-child.js', import.meta.url));
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, [script, addresses[i]!, join(root, `ms${i}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const [line] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')])) as [Buffer];
      if (!String(line).startsWith('ready')) throw new Error(`metaserver ${i} did not start`);
    }
  }
  const rpc = new RpcClient<MetaServerMethods>(metaServerService(), { addresses, timeoutMs: 5_000, totalTimeoutMs: 30_000, maxAttempts: 50 });
  try {
    const peers = addresses.map((address, i) => ({ id: i + 1, address }));
    for (const address of addresses) await rpc.callOk('CreateCopysetNode', { poolId: 1, copysetId: 1, peers }, { address });
    const header = { poolId: 1, copysetId: 1, partitionId: 1, fsId: 1 };
    await rpc.callOk('CreatePartition', { ...header, partition: { fsId: 1, partitionId: 1, start: 0, end: 2 ** 20 - 1 } });
    await rpc.callOk('CreateRootInode', { ...header, mode: 0o40755, timeSec: 1 });
    const dirs: number[] = [];
    for (let c = 0; c < callers; c++) {
      const d = await rpc.callOk('CreateInode', { ...header, type: 1, mode: 0o40755, parent: 1, timeSec: 1 });
      await rpc.callOk('CreateDentry', { ...header, dentry: { parentInodeId: 1, name: `d${c}`, inodeId: d.inode!.inodeId, type: 1 }, timeSec: 1 });
      dirs.push(d.inode!.inodeId);
    }
    const created: { dir: number; name: string; inodeId: number }[] = [];
    const create = await phase('create (CreateInode + CreateDentry)', callers, seconds, async (caller, i) => {
      const inode = await rpc.callOk('CreateInode', { ...header, type: 2, mode: 0o100644, parent: dirs[caller]!, timeSec: 2 });
      const name = `f${i}`;
      await rpc.callOk('CreateDentry', { ...header, dentry: { parentInodeId: dirs[caller]!, name, inodeId: inode.inode!.inodeId, type: 2 }, timeSec: 2 });
      created.push({ dir: dirs[caller]!, name, inodeId: inode.inode!.inodeId });
    });
    const lookup = await phase('lookup (GetDentry)', callers, seconds, async (caller, i) => {
      const e = created[(caller * 7919 + i * 31) % created.length]!;
      await rpc.callOk('GetDentry', { ...header, parentInodeId: e.dir, name: e.name });
    });
    const getattr = await phase('getattr (GetInode)', callers, seconds, async (caller, i) => {
      const e = created[(caller * 104729 + i * 17) % created.length]!;
      await rpc.callOk('GetInode', { ...header, inodeId: e.inodeId, supportStreaming: true });
    });
    console.log(`metaserver-rpc: create ${create} lookup ${lookup} getattr ${getattr} at ${callers} callers`);
  } finally {
    rpc.close();
    for (const s of servers) await s.stop();
    for (const c of children) {
      c.kill('SIGTERM');
      if (c.exitCode === null) await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 5_000))]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
    await rm(root, { recursive: true, force: true });
  }
}

await main();
