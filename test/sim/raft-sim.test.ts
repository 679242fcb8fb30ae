/**
 * CI runs of the deterministic Raft simulator: thousands of seeds, each with
 * a fault phase checked after every step (election safety, log matching,
 * leader completeness, state machine safety) and a heal-and-converge phase
 * (liveness). A failure names its seed; `npm run sim -- --seed S --trace`
 * replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimulation, type SimOptions } from './raft-sim.js';

function runSeeds(from: number, count: number, options: Omit<SimOptions, 'seed'>): { committed: number; ms: number } {
  const started = performance.now();
  let committed = 0;
  for (let seed = from; seed < from + count; seed++) {
    const r = runSimulation({ seed, ...options });
    if (!r.ok) {
      assert.fail(
        `seed ${seed} failed: ${r.failure}\n  swarm: ${r.swarm}\n  replay: npm run sim -- --seed ${seed} --steps ${options.ticks ?? 200} --trace`,
      );
    }
    committed += r.stats.committed;
  }
  return { committed, ms: performance.now() - started };
}

test('2,000 short seeds (200 ticks each) keep every safety property and converge', () => {
  const { committed, ms } = runSeeds(1, 2000, { ticks: 200 });
  assert.ok(committed > 50_000, `too little progress across seeds: ${committed} entries`);
  console.log(`# 2000 seeds x 200 ticks: ${(ms / 1000).toFixed(1)} s, ${committed} entries committed`);
});

test('200 long seeds (1,000 ticks each) keep every safety property and converge', () => {
  const { committed, ms } = runSeeds(100_000, 200, { ticks: 1000 });
  console.log(`# 200 seeds x 1000 ticks: ${(ms / 1000).toFixed(1)} s, ${committed} entries committed`);
});

test('a seed replays exactly (determinism)', () => {
  const a = runSimulation({ seed: 4242, ticks: 300 });
  const b = runSimulation({ seed: 4242, ticks: 300 });
  assert.deepEqual(a, b);
  const traceA: string[] = [];
  const traceB: string[] = [];
  runSimulation({ seed: 77, ticks: 100, trace: (l) => traceA.push(l) });
  runSimulation({ seed: 77, ticks: 100, trace: (l) => traceB.push(l) });
  assert.ok(traceA.length > 100);
  assert.deepEqual(traceA, traceB);
});

test('the checkers catch a driver that forgets to persist its vote (election safety)', () => {
  let caught: string | undefined;
  for (let seed = 1; seed <= 3000 && caught === undefined; seed++) {
    const r = runSimulation({ seed, bug: 'forget-vote' });
    if (!r.ok) caught = r.failure;
  }
  assert.ok(caught !== undefined, 'a lost vote must eventually produce two leaders in one term');
  assert.match(caught, /election safety|log matching|leader completeness|state machine safety/);
});
