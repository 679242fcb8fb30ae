/**
 * Raft benchmark (npm run bench:raft): three replicas as separate processes
 * on loopback gRPC, fsync'd WALs, 128-byte entries. Closed-loop proposers
 * (1, 16, 64) run inside the leader's process and measure commit latency
 * (propose → applied on the leader); then 100 groups per process sit idle
 * and the CPU they cost is measured.
 *
 * Last line: `raft: <ops/s at 64 proposers> ops/s, p99 <ms at 16 proposers> ms`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../test/helpers/ports.js';
import { RaftProcess } from '../test/helpers/raft-process.js';

const ENTRY_BYTES = 128;
const RUN_MS = Number(process.env['RAFT_BENCH_RUN_MS'] ?? 5000);
const IDLE_GROUPS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function startCluster(root: string, groups: number): Promise<RaftProcess[]> {
  const ports = await freePorts(3);
  const ids = ports.map((p) => `127.0.0.1:${p}`);
  const procs = ids.map((id) => new RaftProcess({ id, peers: ids, dir: join(root, id.replace(':', '_')), groups }));
  await Promise.all(procs.map((p) => p.waitReady(60_000)));
  return procs;
}

/** Waits until every group has a leader; returns the leader process of group 1/1. */
async function waitLeaders(procs: RaftProcess[], groups: number): Promise<RaftProcess> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    let led = 0;
    let leaderOfFirst: RaftProcess | undefined;
    for (const p of procs) {
      const r = await p.request({ op: 'status' });
      const statuses = (r['statuses'] ?? []) as { groupId: string; role: number }[];
      for (const s of statuses) {
        if (s.role !== 2) continue;
        led++;
        if (s.groupId === '1/1') leaderOfFirst = p;
      }
    }
    if (led >= groups && leaderOfFirst !== undefined) return leaderOfFirst;
    if (Date.now() > deadline) throw new Error(`only ${led} of ${groups} groups have a leader`);
    await sleep(200);
  }
}

interface Row {
  proposers: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'raft-bench-'));
  const rows: Row[] = [];
  let idleCpu: number[] = [];
  try {
    const procs = await startCluster(join(root, 'throughput'), 1);
    try {
      const leader = await waitLeaders(procs, 1);
      // Warm-up: JIT, connection windows, WAL preallocation.
      await leader.request({ op: 'bench', proposers: 64, durationMs: 2000, entryBytes: ENTRY_BYTES }, 30_000);
      for (const proposers of [1, 16, 64]) {
        const r = await leader.request({ op: 'bench', proposers, durationMs: RUN_MS, entryBytes: ENTRY_BYTES }, RUN_MS + 30_000);
        if (!r.ok) throw new Error(`bench run failed: ${JSON.stringify(r)}`);
        rows.push({ proposers, opsPerSec: r['opsPerSec'] as number, p50: r['p50'] as number, p99: r['p99'] as number });
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
    const idle = await startCluster(join(root, 'idle'), IDLE_GROUPS);
    try {
      await waitLeaders(idle, IDLE_GROUPS);
      await sleep(2000);
      const cpu = await Promise.all(idle.map((p) => p.request({ op: 'cpu', durationMs: 5000 }, 20_000)));
      idleCpu = cpu.map((c) => c['cpuPercent'] as number);
    } finally {
      await Promise.all(idle.map((p) => p.stop()));
    }
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
  }

  console.log(`3 replicas, loopback gRPC, fsync on, ${ENTRY_BYTES}-byte entries, ${RUN_MS / 1000} s per run, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log('proposers   ops/s    p50 ms   p99 ms');
  for (const r of rows) {
    console.log(`${String(r.proposers).padStart(9)} ${r.opsPerSec.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
  }
  console.log(`idle CPU, ${IDLE_GROUPS} groups per process: ${idleCpu.map((c) => c.toFixed(1) + '%').join(', ')} of one core`);
  const at64 = rows.find((r) => r.proposers === 64)!;
  const at16 = rows.find((r) => r.proposers === 16)!;
  console.log(`raft: ${at64.opsPerSec.toFixed(0)} ops/s, p99 ${at16.p99.toFixed(2)} ms`);
}

await main();
