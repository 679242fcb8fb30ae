/**
 * Metadata benchmark (npm run bench:meta, `-- --quick` for a run under a
 * minute): the MetaClient against an embedded MDS and three metaserver
 * processes on loopback (Raft, fsync'd WALs). Closed-loop callers (1 and 32)
 * run each operation for a fixed count and report ops/s and p99:
 *   create  one file as the VFS makes it: createLinked (inode and name in one
 *           Raft entry), or createInode + createDentry where that is not possible
 *   lookup  getDentry of an existing name
 *   getattr getInodeAttr of an existing inode
 *   list    a whole 10,000-entry directory (pages of 1,000)
 *   rename  rename within one directory
 * plus memory: the state's bytes per inode with its dentry, measured on a
 * partition of a million (bench/partition-memory-bench.ts in a child with
 * --expose-gc), and the metaservers' RSS growth in the run (not per inode).
 *
 * Concurrent creates (and lookups, getattrs) of one partition are coalesced
 * by the MetaClient into batch RPCs (client/meta/*-batcher.ts), so the 32
 * callers' figures measure that path.
 *
 * Profiling: `--only <op>` runs just that operation (and the creates it
 * needs) at 32 callers, `--ops N` sets the count, and META_BENCH_NODE_ARGS
 * passes node flags to the metaserver processes, e.g.
 *   META_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node dist/bench/meta-bench.js --only create --ops 20000
 *
 * Each row also gives the three metaservers' CPU time and context switches
 * per operation (from /proc): on a shared machine these move much less with
 * the other load than the latency does, so they show what a change saves.
 *
 * Last line: `meta: create <ops/s> lookup <ops/s> ops/s at 32 callers`.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/log.js';
import { MetaStatusCode } from '../src/common/meta-status.js';
import { mdsService } from '../src/proto/index.js';
import { StorageType } from '../src/proto/types-common.js';
import { RpcClient } from '../src/rpc/index.js';
import { startMds } from '../mds/index.js';
import { MetaClient } from '../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type Timespec } from '../client/vfs/meta-api.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../test/helpers/ports.js';
import { startProcess, type ProcessHandle } from '../test/helpers/process.js';

const isQuick = process.argv.includes('--quick');
/** `--only create` runs just that operation at 32 callers (profiling); `--ops N` sets its count. */
const argAfter = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const only = argAfter('--only');
const opsOverride = argAfter('--ops') === undefined ? undefined : Number(argAfter('--ops'));
/** Operations per (operation, caller count) run: one caller is latency-bound, so it gets fewer. */
const opsFor = (callers: number): number => opsOverride ?? (isQuick ? 1_000 : callers === 1 ? 2_000 : 20_000);
const LIST_ENTRIES = isQuick ? 2_000 : 10_000;
const LIST_RUNS = isQuick ? 32 : 64;
/** `--callers N` runs only that caller count (default 1 and 32; with --only, 32): `--only create --callers 1` profiles latency. */
const callersArg = argAfter('--callers');
const CALLERS: readonly number[] = callersArg !== undefined ? [Number(callersArg)] : only === undefined ? [1, 32] : [32];

interface Row {
  readonly op: string;
  readonly callers: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const time = (): Timespec => {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
};

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** The metaserver processes, for the per-operation CPU and context-switch figures. */
let serverPids: number[] = [];

/**
 * CPU time (ms, user + system) and context switches (voluntary + involuntary, every thread) of a
 * process so far. On a shared 2-core machine these per-operation costs move far less with the
 * other load than latency does: each switch is a wake-up some operation may have waited for.
 */
function processCost(pid: number): { cpuMs: number; switches: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based, counting pid and comm): 11 and 12 after the comm.
    const ticks = Number(fields[11]) + Number(fields[12]);
    let switches = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) switches += Number(m[1]);
    }
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, switches };
  } catch {
    return { cpuMs: 0, switches: 0 };
  }
}
/** USER_HZ: 100 on Linux everywhere node runs. */
const CLOCK_TICKS_PER_SECOND = 100;

function serversCost(): { cpuMs: number; switches: number } {
  let cpuMs = 0;
  let switches = 0;
  for (const pid of serverPids) {
    const c = processCost(pid);
    cpuMs += c.cpuMs;
    switches += c.switches;
  }
  return { cpuMs, switches };
}

/** Runs `count` operations with `callers` closed-loop callers; op(i) gets a distinct i in [0, count). */
async function measure(op: string, callers: number, count: number, fn: (i: number) => Promise<void>): Promise<Row | null> {
  // Creates are always run: the other operations work on the files they make.
  if (only !== undefined && op !== only && op !== 'create') return null;
  const latencies: number[] = [];
  let next = 0;
  const costBefore = serversCost();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        await fn(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const costAfter = serversCost();
  const row = { op, callers, opsPerSec: count / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
  const cpuPerOp = (costAfter.cpuMs - costBefore.cpuMs) / count;
  const switchesPerOp = (costAfter.switches - costBefore.switches) / count;
  console.log(
    `${op.padEnd(8)} callers=${String(callers).padStart(2)}  ${row.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms` +
      `  (3 metaservers: ${cpuPerOp.toFixed(2)} CPU ms/op, ${switchesPerOp.toFixed(1)} context switches/op)`,
  );
  return row;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'meta-bench-'));
  const procs: ProcessHandle[] = [];
  const timers: NodeJS.Timeout[] = [];
  const mds = await startMds({ listen: `${LOOPBACK_HOST}:0`, dataDir: join(root, 'mds'), logger: silentLogger, backgroundTickMs: 500 });
  const admin = new RpcClient(mdsService(), { addresses: [mds.address], totalTimeoutMs: 30_000 });
  let client: MetaClient | undefined;
  try {
    for (let i = 0; i < 3; i++) {
      const port = await portPair();
      const address = `${LOOPBACK_HOST}:${port}`;
      procs.push(
        await startProcess({
          name: `metaserver-${i}`,
          command: process.execPath,
          // META_BENCH_NODE_ARGS: node flags for the metaserver processes (e.g. --cpu-prof).
          args: [...(process.env['META_BENCH_NODE_ARGS']?.split(' ').filter((a) => a !== '') ?? []), join(import.meta.dirname, 'meta-bench-server.js'), address, join(root, `ms${i}`)],
          ready: { kind: 'line', pattern: /metaserver ready/ },
          readyTimeoutMs: 30_000,
        }),
      );
      const registered = await admin.callOk('RegisterMetaServer', { hostname: `ms-${i}`, internalIp: LOOPBACK_HOST, internalPort: port, zone: `zone${i + 1}`, pool: 'default' });
      const beat = (): Promise<unknown> =>
        admin
          .call('MetaServerHeartbeat', {
            metaserverId: registered.metaserverId,
            token: registered.token,
            internalIp: LOOPBACK_HOST,
            internalPort: port,
            space: { diskCapacityBytes: 1 << 30, diskUsedBytes: 1 << 20, memoryUsedBytes: 1 << 20 },
          })
          .catch(() => undefined);
      await beat();
      const timer = setInterval(() => void beat(), 1_000);
      timer.unref();
      timers.push(timer);
    }
    const created = await admin.call('CreateFs', { fsName: 'bench', storage: { type: StorageType.LOCAL, local: { path: join(root, 'objects') } }, rootMode: 0o40755 });
    if (created.status !== MetaStatusCode.OK) throw new Error(`CreateFs: ${MetaStatusCode[created.status]} ${created.errorMessage}`);
    client = await MetaClient.open({ mds: [mds.address], fsName: 'bench', logger: silentLogger });
    const meta = client;
    console.log(`meta bench: 3 metaserver processes, ${opsFor(1)}/${opsFor(32)} ops per run at 1/32 callers${isQuick ? ' (quick)' : ''}`);
    const warmedOps = await warmUp(meta);

    serverPids = procs.map((p) => p.pid);
    const rssBefore = procs.reduce((sum, p) => sum + rssBytes(p.pid), 0);
    const rows: (Row | null)[] = [];
    let inodesCreated = warmedOps;
    for (const callers of CALLERS) {
      const OPS = opsFor(callers);
      const dirAttr = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: time() });
      const dir = dirAttr.inodeId;
      await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: `c${callers}`, inodeId: dir, type: FileType.Directory }, time());
      const ids: number[] = new Array<number>(OPS);
      rows.push(
        await measure('create', callers, OPS, async (i) => {
          const request = { type: FileType.File, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent: dir, time: time() };
          let inode = await meta.createLinked(request, `f${i}`);
          if (inode === null) {
            inode = await meta.createInode(request);
            await meta.createDentry({ parentInodeId: dir, name: `f${i}`, inodeId: inode.inodeId, type: FileType.File }, time());
          }
          ids[i] = inode.inodeId;
        }),
      );
      inodesCreated += OPS + 1;
      rows.push(
        await measure('lookup', callers, OPS, async (i) => {
          const d = await meta.getDentry(dir, `f${(i * 7919) % OPS}`);
          if (d === null) throw new Error('lookup missed');
        }),
      );
      rows.push(
        await measure('getattr', callers, OPS, async (i) => {
          await meta.getInodeAttr(ids[(i * 7919) % OPS]!);
        }),
      );
      const renames = Math.min(OPS, isQuick ? 500 : 10_000);
      rows.push(
        await measure('rename', callers, renames, async (i) => {
          await meta.rename({ srcParent: dir, srcName: `f${i}`, srcInodeId: ids[i]!, srcType: FileType.File, dstParent: dir, dstName: `r${i}`, expectedDstInodeId: 0, time: time() });
        }),
      );
    }
    // A directory of LIST_ENTRIES names (dentries only: listing does not read inodes).
    const big = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: time() });
    await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'big', inodeId: big.inodeId, type: FileType.Directory }, time());
    let made = only === undefined || only.startsWith('list') ? 0 : LIST_ENTRIES;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = made++; i < LIST_ENTRIES; i = made++) {
          await meta.createDentry({ parentInodeId: big.inodeId, name: `e${String(i).padStart(6, '0')}`, inodeId: ROOT_INODE_ID + 1 + i, type: FileType.File }, time());
        }
      }),
    );
    for (const callers of CALLERS) {
      rows.push(
        await measure(`list${LIST_ENTRIES / 1000}k`, callers, callers === 1 ? Math.min(8, LIST_RUNS) : LIST_RUNS, async () => {
          const seen = await listAll(meta, big.inodeId);
          if (seen !== LIST_ENTRIES) throw new Error(`listed ${seen} of ${LIST_ENTRIES}`);
        }),
      );
    }
    const rssAfter = procs.reduce((sum, p) => sum + rssBytes(p.pid), 0);
    // Only in the full run: the quick run creates too few inodes for either figure to mean much.
    if (!isQuick && only === undefined) {
      // RSS after a few tens of thousands of inodes is mostly heap growth and the Raft log kept
      // until the next snapshot; the state's own cost per inode comes from a million-inode partition.
      console.log(`memory: metaserver RSS +${((rssAfter - rssBefore) / 3 / 2 ** 20).toFixed(0)} MiB each after ${inodesCreated} inodes (heap growth and the unsnapshotted Raft log, not a per-inode figure)`);
      console.log(`memory: ${await partitionBytesPerInode()} B per inode+dentry in a partition of a million (bench/partition-memory-bench.ts)`);
    }
    const at32 = (op: string): number => rows.find((r) => r !== null && r.op === op && r.callers === 32)?.opsPerSec ?? 0;
    console.log(`meta: create ${at32('create').toFixed(0)} lookup ${at32('lookup').toFixed(0)} ops/s at 32 callers`);
  } finally {
    for (const t of timers) clearInterval(t);
    await client?.close().catch(() => undefined);
    admin.close();
    for (const p of procs) await p.stop();
    await mds.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Runs every measured path (single and coalesced creates, lookups, getattrs,
 * renames) for a while, unmeasured, so the rows show warm processes: a
 * metaserver lives for months, and the first few thousand operations of a
 * fresh one run partly in the interpreter and pay for JIT compilation (at 1
 * caller a create measured cold costs about 1.7x the CPU it costs warm).
 * `--warmup N` sets the count per caller count (default 3000, 0 turns it off).
 * Returns the inodes it created.
 */
async function warmUp(meta: MetaClient): Promise<number> {
  const count = Number(argAfter('--warmup') ?? (isQuick ? 500 : 3_000));
  if (count <= 0) return 0;
  const started = performance.now();
  const dirAttr = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: time() });
  const dir = dirAttr.inodeId;
  await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'warm-up', inodeId: dir, type: FileType.Directory }, time());
  const ids: number[] = [];
  let made = 0;
  for (const callers of [1, 32]) {
    const base = ids.length;
    let next = 0;
    const run = (fn: (i: number) => Promise<void>): Promise<unknown> => {
      next = 0;
      return Promise.all(
        Array.from({ length: callers }, async () => {
          for (let i = next++; i < count; i = next++) await fn(i);
        }),
      );
    };
    await run(async (i) => {
      const request = { type: FileType.File, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent: dir, time: time() };
      const name = `w${callers}-${i}`;
      let inode = await meta.createLinked(request, name);
      if (inode === null) {
        inode = await meta.createInode(request);
        await meta.createDentry({ parentInodeId: dir, name, inodeId: inode.inodeId, type: FileType.File }, time());
      }
      ids[base + i] = inode.inodeId;
      made++;
    });
    await run(async (i) => {
      await meta.getDentry(dir, `w${callers}-${(i * 7919) % count}`);
      await meta.getInodeAttr(ids[base + ((i * 7919) % count)]!);
    });
    await run(async (i) => {
      if (i % 4 !== 0) return;
      await meta.rename({ srcParent: dir, srcName: `w${callers}-${i}`, srcInodeId: ids[base + i]!, srcType: FileType.File, dstParent: dir, dstName: `v${callers}-${i}`, expectedDstInodeId: 0, time: time() });
    });
  }
  console.log(`warm-up: ${made} creates (and lookups, getattrs, renames) at 1 and 32 callers in ${((performance.now() - started) / 1000).toFixed(1)} s, not measured`);
  return made + 1;
}

/** Runs partition-memory-bench (a million inodes, heap measured after GC) and returns its bytes per inode+dentry. */
async function partitionBytesPerInode(): Promise<string> {
  const script = fileURLToPath(new URL('./partition-memory-bench.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script], { timeout: 300_000, maxBuffer: 1 << 20 });
  const match = /partition: (\d+) bytes per inode\+dentry/.exec(stdout);
  if (match === null) throw new Error(`partition-memory-bench printed no figure:\n${stdout}`);
  return match[1]!;
}

async function listAll(meta: MetaClient, dir: number): Promise<number> {
  let last = '';
  let seen = 0;
  for (let page = 0; page < 1_000; page++) {
    const entries = await meta.listDentry(dir, last, 1_000);
    seen += entries.length;
    if (entries.length < 1_000) return seen;
    last = entries[entries.length - 1]!.name;
  }
  return seen;
}

await main();
