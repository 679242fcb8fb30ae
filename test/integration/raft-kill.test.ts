/**
 * Real processes, real disks, real network: three Raft node processes over
 * loopback gRPC with fsync'd WALs. Clients propose under load; the leader is
 * killed with SIGKILL and restarted from its files. Checks that every
 * acknowledged write survives (on the new leader and on the restarted node)
 * and that a new leader serves within the election timeout plus a margin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePorts } from '../helpers/ports.js';
import { makeTempDir } from '../helpers/tmp.js';
import { RaftProcess, type Reply } from '../helpers/raft-process.js';

const TICK_MS = 100;
const ELECTION_TICKS = 10;
/** Followers campaign after a randomized [1, 2) election timeouts; then pre-vote + vote rounds. */
const FAILOVER_BOUND_MS = 2 * TICK_MS * ELECTION_TICKS + 2000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test('kill -9 the leader under load: no acknowledged write is lost, a new leader serves in time', { timeout: 60_000 }, async () => {
  const tmp = await makeTempDir('raft-kill');
  const ports = await freePorts(3);
  const ids = ports.map((p) => `127.0.0.1:${p}`);
  const procs = new Map<string, RaftProcess>();
  const spawnNode = (id: string): RaftProcess => {
    // Small snapshot threshold: logs are compacted under load, so the restarted
    // node restores from its own snapshot and may need one streamed from the leader.
    const p = new RaftProcess({
      id,
      peers: ids,
      dir: join(tmp.path, id.replace(':', '_')),
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      snapshotEntries: 300,
    });
    procs.set(id, p);
    return p;
  };
  try {
    for (const id of ids) spawnNode(id);
    await Promise.all([...procs.values()].map((p) => p.waitReady(15_000)));

    let leaderHint = '';
    const acked = new Map<string, string>();
    let lastSuccessAt = 0;
    let isRunning = true;
    let successes = 0;
    const send = async (body: Record<string, unknown>): Promise<Reply> => {
      const target = procs.get(leaderHint) ?? [...procs.values()][Math.floor(Math.random() * procs.size)]!;
      const reply = await target.request(body, 3000);
      if (!reply.ok) {
        const hint = reply['leader'];
        leaderHint = typeof hint === 'string' && hint !== '' && hint !== target.id ? hint : '';
        if (leaderHint === '') await sleep(20);
      } else {
        leaderHint = target.id;
      }
      return reply;
    };
    const client = async (w: number): Promise<void> => {
      // Bounded by the isRunning flag the test clears after a fixed time.
      for (let n = 0; isRunning; n++) {
        const key = `c${w}-${n}`;
        const value = `v${w}-${n}`;
        const reply = await send({ op: 'put', key, value });
        if (reply.ok) {
          acked.set(key, value);
          lastSuccessAt = performance.now();
          successes++;
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, w) => client(w));

    // Let the cluster elect and take load.
    const deadline = performance.now() + 15_000;
    while (successes < 500 && performance.now() < deadline) await sleep(50);
    assert.ok(successes >= 500, `only ${successes} writes before the kill`);

    const victim = leaderHint;
    assert.ok(procs.has(victim), 'a leader is known');
    const killedAt = performance.now();
    await procs.get(victim)!.kill('SIGKILL');
    procs.delete(victim);
    const ackedBeforeKill = acked.size;

    // A new leader must serve writes within the bound.
    while (lastSuccessAt < killedAt && performance.now() - killedAt < FAILOVER_BOUND_MS + 5000) await sleep(20);
    const failoverMs = lastSuccessAt - killedAt;
    assert.ok(lastSuccessAt > killedAt, 'no write succeeded after the kill');
    assert.ok(failoverMs < FAILOVER_BOUND_MS, `failover took ${failoverMs.toFixed(0)} ms (bound ${FAILOVER_BOUND_MS})`);

    // Restart the killed node from its files, keep the load on a little longer.
    const restarted = spawnNode(victim);
    await restarted.waitReady(15_000);
    await sleep(1500);
    isRunning = false;
    await Promise.all(clients);
    assert.ok(acked.size > ackedBeforeKill, 'writes continued after the failover');

    // Every acknowledged write is on the leader (linearizable read first)...
    let leaderDump: Record<string, { value: string }> | undefined;
    for (let attempt = 0; attempt < 50 && leaderDump === undefined; attempt++) {
      const probe = await send({ op: 'get', key: 'c0-0' });
      if (probe.ok) {
        const d = await procs.get(leaderHint)!.request({ op: 'dump' });
        if (d.ok) leaderDump = d['data'] as Record<string, { value: string }>;
      }
    }
    assert.ok(leaderDump !== undefined, 'no leader answered a read');
    for (const [k, v] of acked) assert.equal(leaderDump[k]?.value, v, `acknowledged ${k} lost on the leader`);

    // ...and on the restarted node once it has caught up.
    let missing = acked.size;
    for (let attempt = 0; attempt < 100 && missing > 0; attempt++) {
      const d = await restarted.request({ op: 'dump' });
      const data = (d['data'] ?? {}) as Record<string, { value: string }>;
      missing = 0;
      for (const [k, v] of acked) if (data[k]?.value !== v) missing++;
      if (missing > 0) await sleep(100);
    }
    assert.equal(missing, 0, `restarted node misses ${missing} acknowledged writes`);
    const status = (await restarted.request({ op: 'dump' }))['status'] as { snapshotIndex: number; snapshotsInstalled: number };
    assert.ok(status.snapshotIndex > 0, 'the restarted node runs on a compacted log');
    console.log(
      `raft-kill: ${acked.size} acknowledged writes, failover ${failoverMs.toFixed(0)} ms, ` +
        `restarted node installed ${status.snapshotsInstalled} snapshot(s) from the leader`,
    );
  } finally {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    await tmp.remove();
  }
});
