/**
 * The FUSE adapter counts and times every reply by op and errno (the
 * process's /metrics), so a workload's FUSE requests can be read off a
 * mount without a debug log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/common/clock.js';
import { fuseOps } from '../../client/fuse/fuse-ops.js';
import { fuseOpMetrics } from '../../client/fuse/fuse-op-metrics.js';
import type { FuseRequestContext } from '../../client/fuse/fuse-native-binding.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const ROOT_CONTEXT: FuseRequestContext = { uid: 0, gid: 0, pid: 1 };

test('each reply is counted by op and errno, and timed by op', async () => {
  const meta = new MemoryMeta();
  const wall = new ManualClock(1_700_000_000_000);
  const vfs = new Vfs({ meta, data: new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs())), wallClock: wall, cacheClock: new ManualClock(0) });
  const registry = new Registry();
  const ops = fuseOps(vfs, () => ROOT_CALLER, undefined, fuseOpMetrics(registry));
  assert.equal(fuseOpMetrics(registry), fuseOpMetrics(registry), 'one set of metrics per registry');
  const call = (name: string, ...args: unknown[]): Promise<unknown[]> =>
    new Promise((resolve) => ops[name]!(ROOT_CONTEXT, ...args, (...reply: unknown[]) => resolve(reply)));

  assert.deepEqual(await call('getattr', '/f'), [-2]);
  const [, fh] = await call('create', '/f', 0o644);
  assert.deepEqual(await call('write', '/f', fh, Buffer.from('abc'), 3, 0), [3]);
  assert.deepEqual(await call('getattr', '/f').then((r) => r[0]), 0);
  assert.deepEqual(await call('release', '/f', fh), [0]);

  const text = await registry.metrics();
  const count = (op: string, errno: number): number => {
    const line = text.split('\n').find((l) => l.startsWith(`curvefs_client_fuse_ops_total{op="${op}",errno="${errno}"}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  assert.equal(count('getattr', 2), 1, 'the negative lookup');
  assert.equal(count('getattr', 0), 1);
  assert.equal(count('create', 0), 1);
  assert.equal(count('write', 0), 1, 'read/write replies count too');
  assert.equal(count('release', 0), 1);
  assert.match(text, /curvefs_client_fuse_op_seconds_count\{op="getattr"\} 2/);
});
