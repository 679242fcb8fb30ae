/**
 * Runs the Raft simulator from the command line:
 *   npm run sim -- --seeds N [--seed S] [--steps K] [--clients C] [--lin] [--lease] [--trace]
 * --steps is the number of Raft ticks of the fault phase (default 200).
 * --seed S alone replays one seed (add --trace for its event log); with
 * --seeds N it runs seeds S..S+N-1. Exits 1 on the first violation and
 * prints the failing seed and the command that replays it.
 */
import { runSimulation } from './raft-sim.js';

interface CliArgs {
  seeds: number;
  seed: number;
  ticks: number;
  lin: boolean;
  trace: boolean;
  clients: number;
  lease: boolean;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { seeds: 1, seed: 1, ticks: 200, lin: false, trace: false, clients: 3, lease: false };
  let sawSeeds = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seeds') {
      args.seeds = next();
      sawSeeds = true;
    } else if (a === '--seed') args.seed = next();
    else if (a === '--steps' || a === '--ticks') args.ticks = next();
    else if (a === '--clients') args.clients = next();
    else if (a === '--lin') args.lin = true;
    else if (a === '--lease') args.lease = true;
    else if (a === '--trace') args.trace = true;
    else throw new Error(`unknown argument ${a} (use --seeds N [--seed S] [--steps K] [--clients C] [--lin] [--lease] [--trace])`);
  }
  if (!sawSeeds && argv.includes('--seed')) args.seeds = 1;
  return args;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const totals: Record<string, number> = {};
  for (let s = args.seed; s < args.seed + args.seeds; s++) {
    const result = runSimulation({
      seed: s,
      ticks: args.ticks,
      checkLinearizability: args.lin,
      // Long command-line runs make long histories: allow a deeper search.
      linearizabilityStepBudget: 200_000_000,
      clients: args.clients,
      leaseReads: args.lease,
      ...(args.trace ? { trace: (line: string) => console.log(line) } : {}),
    });
    for (const [k, v] of Object.entries(result.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (!result.ok) {
      console.error(`FAIL seed ${s}: ${result.failure}`);
      console.error(`  swarm: ${result.swarm}`);
      console.error(`  replay: npm run sim -- --seed ${s} --steps ${args.ticks} --clients ${args.clients}${args.lin ? ' --lin' : ''}${args.lease ? ' --lease' : ''} --trace`);
      return 1;
    }
    if (args.seeds === 1) console.log(`seed ${s} ok: ${result.swarm} ${JSON.stringify(result.stats)}`);
  }
  const ms = performance.now() - started;
  console.log(`sim: ${args.seeds} seeds from ${args.seed} passed in ${(ms / 1000).toFixed(1)} s (${(ms / args.seeds).toFixed(1)} ms/seed)`);
  console.log(`sim totals: ${Object.entries(totals).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return 0;
}

process.exitCode = main();
