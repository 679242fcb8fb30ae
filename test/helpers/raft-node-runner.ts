/**
 * A Raft node process for real-process tests and the benchmark: one gRPC
 * transport, a RaftHost with `--groups` KV groups ("1/1".."1/N"), real WAL
 * and snapshot files under `--dir`. Driven over stdin/stdout with JSON
 * lines (test/helpers/raft-process.ts is the parent side):
 *
 *   → {"id":1,"op":"put","group":"1/1","key":"k","value":"v"}
 *   ← {"id":1,"ok":true,"version":3}   or {"id":1,"ok":false,"code":"CURVEFS_ERR_NOT_LEADER","leader":"..."}
 *   ops: put, get (ReadIndex on the leader), dump (local state), status,
 *        bench (closed-loop proposers inside this process), cpu (usage over a window)
 *   events: {"event":"ready"}, {"event":"leader","group":..,"leader":..,"term":..}
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { GrpcTransport } from '../../src/raft/multi/grpc-transport.js';
import { RaftHost } from '../../src/raft/multi/raft-host.js';
import { groupId } from '../../src/raft/multi/group-id.js';
import { IntervalTicker } from '../../src/raft/node/ticker.js';
import type { RaftNode } from '../../src/raft/node/raft-node.js';
import { CurveError } from '../../src/common/errors.js';
import { KvStateMachine, putCommand } from './raft-kv.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    peers: { type: 'string' },
    dir: { type: 'string' },
    groups: { type: 'string', default: '1' },
    'tick-ms': { type: 'string', default: '100' },
    'election-ticks': { type: 'string', default: '10' },
    'snapshot-entries': { type: 'string', default: '200000' },
  },
});
const id = values.id!;
const peers = values.peers!.split(',');
const dir = values.dir!;
const groupCount = Number(values.groups);

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

// Stdin first: it keeps the process alive during startup (and a parent that
// goes away closes it, which stops this node). Requests wait for startup.
let markStarted!: () => void;
const started = new Promise<void>((r) => (markStarted = r));
let host: RaftHost | undefined;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const req = JSON.parse(line) as Record<string, unknown>;
  started.then(() => handle(req)).then(out, (e: unknown) => out(errorReply(req['id'], e)));
});
lines.on('close', () => {
  void started.then(() => host!.close()).then(() => process.exit(0));
});

const transport = await GrpcTransport.start({ listenAddress: id, localId: id });
host = new RaftHost(transport, new IntervalTicker(Number(values['tick-ms'])));
const machines = new Map<string, KvStateMachine>();
for (let g = 1; g <= groupCount; g++) {
  const gid = groupId(1, g);
  const sm = new KvStateMachine();
  machines.set(gid, sm);
  const node = await host!.startGroup<number>(gid, {
    peers,
    dir: join(dir, `group-${g}`),
    stateMachine: sm,
    electionTicks: Number(values['election-ticks']),
    heartbeatTicks: 1,
    snapshotLogEntries: Number(values['snapshot-entries']),
    registry: null,
  });
  node.onLeaderChange((leader, term) => out({ event: 'leader', group: gid, leader, term }));
}
markStarted();
out({ event: 'ready', id });

function nodeOf(gid: string): RaftNode<number> {
  const n = host!.group<number>(gid);
  if (n === undefined) throw new Error(`no group ${gid}`);
  return n;
}

function errorReply(reqId: unknown, e: unknown): unknown {
  const code = CurveError.is(e) ? e.code : 'ERROR';
  const leader = (e as { leader?: string }).leader ?? '';
  return { id: reqId, ok: false, code, leader, message: e instanceof Error ? e.message : String(e) };
}

async function bench(gid: string, proposers: number, durationMs: number, entryBytes: number): Promise<unknown> {
  const node = nodeOf(gid);
  const latencies: number[] = [];
  const value = 'x'.repeat(Math.max(0, entryBytes - 12));
  const end = performance.now() + durationMs;
  let errors = 0;
  let seq = 0;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await node.propose(putCommand(`b${w}-${seq++ % 1000}`, value));
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
        if (errors > 1000) return;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: proposers }, (_, w) => worker(w)));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { ops: latencies.length, opsPerSec: latencies.length / (elapsed / 1000), p50: pct(0.5), p99: pct(0.99), errors, fsyncs: node.walStats().fsyncs };
}

async function handle(req: Record<string, unknown>): Promise<unknown> {
  const gid = (req['group'] as string | undefined) ?? '1/1';
  switch (req['op']) {
    case 'put': {
      const version = await nodeOf(gid).propose(putCommand(req['key'] as string, req['value'] as string));
      return { id: req['id'], ok: true, version };
    }
    case 'get': {
      await nodeOf(gid).linearizableRead();
      const e = machines.get(gid)!.data.get(req['key'] as string);
      return { id: req['id'], ok: true, value: e?.value ?? null, version: e?.version ?? 0 };
    }
    case 'dump':
      return { id: req['id'], ok: true, data: Object.fromEntries(machines.get(gid)!.data), status: nodeOf(gid).status() };
    case 'status': {
      const statuses = host!.groupIds().map((g) => nodeOf(g).status());
      return { id: req['id'], ok: true, statuses };
    }
    case 'bench':
      return { id: req['id'], ok: true, ...(await bench(gid, req['proposers'] as number, req['durationMs'] as number, req['entryBytes'] as number)) as object };
    case 'cpu': {
      const before = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, req['durationMs'] as number));
      const used = process.cpuUsage(before);
      const wallMs = performance.now() - t0;
      return { id: req['id'], ok: true, cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100 };
    }
    default:
      return { id: req['id'], ok: false, code: 'ERROR', message: `unknown op ${String(req['op'])}` };
  }
}

