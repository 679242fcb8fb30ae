/**
 * Prometheus figures of the FUSE requests this process answers, by op
 * (libfuse's high-level op: the kernel's LOOKUP arrives as getattr, a
 * CREATE as create + fgetattr): how many, with which errno, and how long
 * each took from the callback to the reply. With the client's RPC counts
 * they say where an operation spends its round trips (e.g. a create loop:
 * getattr → ENOENT, create, fgetattr, flush, release per file).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { registry as processRegistry } from '../../src/common/metrics.js';

export interface FuseOpMetrics {
  /** One finished request: `errno` 0 for success, positive otherwise. */
  observe(op: string, errno: number, seconds: number): void;
}

/** From 50 µs (an answer from the caches) to 2.5 s (a stalled commit). */
const SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5];

const byRegistry = new WeakMap<Registry, FuseOpMetrics>();

export function fuseOpMetrics(registry: Registry = processRegistry): FuseOpMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const ops = new Counter({
    name: 'curvefs_client_fuse_ops_total',
    help: 'FUSE requests answered, by op and errno (0 = success)',
    labelNames: ['op', 'errno'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'curvefs_client_fuse_op_seconds',
    help: 'Time from a FUSE request reaching the client to its reply, by op',
    labelNames: ['op'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  // Label lookups hash their values: keep the children, a few dozen ops at most.
  const counters = new Map<string, ReturnType<typeof ops.labels>>();
  const timers = new Map<string, ReturnType<typeof seconds.labels>>();
  const metrics: FuseOpMetrics = {
    observe(op, errno, elapsed) {
      const key = errno === 0 ? op : `${op}\u0000${errno}`;
      let counter = counters.get(key);
      if (counter === undefined) {
        counter = ops.labels(op, String(errno));
        counters.set(key, counter);
      }
      counter.inc();
      let timer = timers.get(op);
      if (timer === undefined) {
        timer = seconds.labels(op);
        timers.set(op, timer);
      }
      timer.observe(elapsed);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
