/**
 * Multi-raft over real gRPC: three hosts (one GrpcTransport each) carry
 * eight groups that share the transports; every group elects a leader,
 * commits proposals, and the per-peer batching keeps the number of
 * stream writes well below the number of messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GrpcTransport } from '../../src/raft/multi/grpc-transport.js';
import { RaftHost } from '../../src/raft/multi/raft-host.js';
import { groupId } from '../../src/raft/multi/group-id.js';
import { IntervalTicker } from '../../src/raft/node/ticker.js';
import { NotLeaderError } from '../../src/raft/node/errors.js';
import { makeTempDir } from '../helpers/tmp.js';
import { KvStateMachine, putCommand } from '../helpers/raft-kv.js';

const GROUPS = 8;

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('eight groups share one gRPC transport per process', { timeout: 60_000 }, async () => {
  const tmp = await makeTempDir('raft-multi');
  const ticker = new IntervalTicker(20, { keepAlive: true });
  const transports = await Promise.all([0, 1, 2].map(() => GrpcTransport.start({ listenAddress: '127.0.0.1:0' })));
  const ids = transports.map((t) => t.localId);
  const hosts = transports.map((t) => new RaftHost(t, ticker));
  const machines = new Map<string, KvStateMachine>();
  try {
    for (const [h, host] of hosts.entries()) {
      for (let g = 1; g <= GROUPS; g++) {
        const sm = new KvStateMachine();
        machines.set(`${h}/${g}`, sm);
        await host.startGroup<number>(groupId(3, g), {
          peers: ids,
          dir: join(tmp.path, `host${h}`, `g${g}`),
          stateMachine: sm,
          registry: null,
        });
      }
    }
    for (let g = 1; g <= GROUPS; g++) {
      const gid = groupId(3, g);
      let done = false;
      for (let attempt = 0; attempt < 200 && !done; attempt++) {
        const leader = hosts.map((h) => h.group<number>(gid)!).find((n) => n.isLeader());
        if (leader === undefined) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        try {
          assert.equal(await leader.propose(putCommand('k', `g${g}`)), 1);
          done = true;
        } catch (e) {
          if (!(e instanceof NotLeaderError)) throw e;
        }
      }
      assert.ok(done, `group ${gid} never committed`);
    }
    // Every replica of every group applies its own value (no cross-group leaks).
    await waitFor('all replicas apply', () => {
      for (let h = 0; h < 3; h++) {
        for (let g = 1; g <= GROUPS; g++) if (machines.get(`${h}/${g}`)!.get('k') !== `g${g}`) return undefined;
      }
      return true;
    });
    const stats = transports.map((t) => t.stats());
    const writes = stats.reduce((a, s) => a + s.rpcsSent, 0);
    const messages = stats.reduce((a, s) => a + s.messagesSent, 0);
    assert.ok(writes < messages, `batching: ${writes} writes for ${messages} messages`);
  } finally {
    await Promise.all(hosts.map((h) => h.close()));
    await tmp.remove();
  }
});
