/**
 * Three metaserver processes on loopback; a workload creates files (inode,
 * then name) while the copyset leader is killed with SIGKILL and restarted,
 * again and again. Afterwards every acknowledged name resolves to its
 * inode, no name was acknowledged for two inodes, and the replicas agree.
 * Retries are how a client sees a lost reply: a CreateDentry retried after
 * its first attempt committed answers EXIST naming our own inode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { metaServerService } from '../../src/proto/index.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const CHILD = fileURLToPath(new URL('../../bench/metaserver-child.js', import.meta.url));
const header = { poolId: 1, copysetId: 1, partitionId: 1, fsId: 5 };
const WORKERS = 4;
const RUN_MS = 9_000;
const KILL_EVERY_MS = 2_500;

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function startChild(address: string, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD, address, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    const [first] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')])) as [unknown];
    if (!String(first).startsWith('ready')) throw new Error(`metaserver ${address} did not start`);
  } finally {
    clearTimeout(timer);
  }
  child.stdout!.resume();
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

test('SIGKILLed leaders lose no acknowledged create and ack no name twice', { timeout: 180_000 }, async (t) => {
  const dirs: TempDir[] = [];
  const addresses: string[] = [];
  const children: (ChildProcess | undefined)[] = [];
  const rpc = (): RpcClient<MetaServerMethods> =>
    new RpcClient<MetaServerMethods>(metaServerService(), { addresses, timeoutMs: 2_000, totalTimeoutMs: 8_000, maxAttempts: 20 });
  const clients: RpcClient<MetaServerMethods>[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      dirs.push(await makeTempDir('ms-kill'));
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    }
    for (let i = 0; i < 3; i++) children.push(await startChild(addresses[i]!, dirs[i]!.path));
    const admin = rpc();
    clients.push(admin);
    const peers = addresses.map((address, i) => ({ id: i + 1, address }));
    for (const address of addresses) assert.equal((await admin.call('CreateCopysetNode', { poolId: 1, copysetId: 1, peers }, { address })).status, S.OK);
    assert.equal((await admin.call('CreatePartition', { ...header, partition: { fsId: 5, partitionId: 1, start: 0, end: 2 ** 20 - 1 } })).status, S.OK);
    assert.equal((await admin.call('CreateRootInode', { ...header, mode: 0o40755, timeSec: 1 })).status, S.OK);

    const acked = new Map<string, number>();
    let kills = 0;
    const deadline = Date.now() + RUN_MS;
    /** Retries a call until it gives a definite answer (any reply), bounded. */
    const definite = async <T>(call: () => Promise<T>): Promise<T> => {
      for (let attempt = 0; attempt < 40; attempt++) {
        try {
          return await call();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error('no definite answer after 40 attempts');
    };
    const worker = async (w: number): Promise<void> => {
      const client = rpc();
      clients.push(client);
      for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
        const inode = await definite(() => client.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 2 }));
        if (inode.status !== S.OK) continue;
        const inodeId = inode.inode!.inodeId;
        const name = `w${w}-${i}`;
        const linked = await definite(() =>
          client.call('CreateDentry', { ...header, dentry: { parentInodeId: 1, name, inodeId, type: 2 }, timeSec: 2 }),
        );
        if (linked.status === S.OK || (linked.status === S.EXIST && linked.existing?.inodeId === inodeId)) {
          assert.ok(!acked.has(name), `${name} acknowledged once`);
          acked.set(name, inodeId);
        } else {
          assert.fail(`${name}: unexpected ${S[linked.status]}`);
        }
      }
    };
    const killer = async (): Promise<void> => {
      while (Date.now() + KILL_EVERY_MS < deadline) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        const leader = await definite(() => admin.call('GetLeader', { poolId: 1, copysetId: 1 }));
        const index = addresses.indexOf(leader.leader?.address ?? '');
        if (index < 0) continue;
        await killHard(children[index]!);
        kills += 1;
        await new Promise((r) => setTimeout(r, 300));
        children[index] = await startChild(addresses[index]!, dirs[index]!.path);
      }
    };
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), killer()]);
    assert.ok(kills >= 2, `killed the leader ${kills} times`);
    assert.ok(acked.size > 20, `acknowledged ${acked.size} creates`);

    // Everything acknowledged is there, pointing where it was acknowledged to.
    const listed = new Map<string, number>();
    let last = '';
    for (let page = 0; page < 1000; page++) {
      const reply = await definite(() => admin.call('ListDentry', { ...header, dirInodeId: 1, last, count: 500 }));
      assert.equal(reply.status, S.OK);
      for (const d of reply.dentries) listed.set(d.name, d.inodeId);
      if (reply.dentries.length < 500) break;
      last = reply.dentries[reply.dentries.length - 1]!.name;
    }
    for (const [name, inodeId] of acked) assert.equal(listed.get(name), inodeId, `${name} survived`);
    // Every replica converges on the same state.
    let counts: number[] = [];
    for (let round = 0; round < 100; round++) {
      counts = [];
      for (const address of addresses) {
        const s = await definite(() => admin.call('GetCopysetStatus', { poolId: 1, copysetId: 1 }, { address }));
        counts.push(s.copyset?.partitions[0]?.dentryCount ?? -1);
      }
      if (counts.every((c) => c === listed.size)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(counts, [listed.size, listed.size, listed.size]);
    t.diagnostic(`${kills} leader kills, ${acked.size} creates acknowledged, ${listed.size} names`);

    // All three die at once and come back from their WALs and snapshots.
    for (let i = 0; i < 3; i++) await killHard(children[i]!);
    for (let i = 0; i < 3; i++) children[i] = await startChild(addresses[i]!, dirs[i]!.path);
    const after = new Map<string, number>();
    last = '';
    for (let page = 0; page < 1000; page++) {
      const reply = await definite(() => admin.call('ListDentry', { ...header, dirInodeId: 1, last, count: 500 }));
      assert.equal(reply.status, S.OK);
      for (const d of reply.dentries) after.set(d.name, d.inodeId);
      if (reply.dentries.length < 500) break;
      last = reply.dentries[reply.dentries.length - 1]!.name;
    }
    assert.deepEqual(after, listed, 'the same tree after a full restart');
  } finally {
    for (const c of clients) c.close();
    for (const c of children) if (c !== undefined) await killHard(c);
    for (const d of dirs) await d.remove();
  }
});
