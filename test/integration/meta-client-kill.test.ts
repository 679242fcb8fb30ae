/**
 * MetaClient under crashes: three metaserver processes on loopback, eight
 * callers creating and renaming files while the copyset leader is killed
 * with SIGKILL and restarted, again and again, and a follower is frozen
 * (SIGSTOP) for a while. Afterwards every acknowledged change is there
 * (each acknowledged name points at its inode), and every name present is
 * one we acknowledged or one whose outcome the client could not know (its
 * call failed). Then all three processes are killed at once and restarted:
 * the same client finds everything again (WAL and snapshots).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { SeededRandom } from '../../src/common/random.js';
import { MetaClient } from '../../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type Timespec } from '../../client/vfs/meta-api.js';
import { startMetaCluster } from './meta-client-cluster.js';

const CALLERS = 8;
const KILLS = 2;
const KILL_EVERY_MS = 3_000;
const DOWN_MS = 800;

const now = (): Timespec => {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
};

test('leader killed with SIGKILL and restarted under a create/rename workload: nothing acknowledged is lost', { timeout: 120_000 }, async () => {
  const cluster = await startMetaCluster({ processes: true });
  let client: MetaClient | undefined;
  try {
    await cluster.createFs('killfs');
    client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'killfs', random: new SeededRandom(11), logger: silentLogger, timeoutMs: 2_000, totalTimeoutMs: 20_000 });
    const meta = client;
    const dirAttr = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
    await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'work', inodeId: dirAttr.inodeId, type: FileType.Directory }, now());
    const dir = dirAttr.inodeId;

    /** name → inode id, for every acknowledged state. */
    const expected = new Map<string, number>();
    /** Names whose last operation failed: present or absent, both are right. */
    const uncertain = new Set<string>();
    let acked = 0;
    let failed = 0;
    const failures = new Set<string>();
    let isRunning = true;

    const caller = async (c: number): Promise<void> => {
      for (let n = 0; isRunning && n < 100_000; n++) {
        const name = `w${c}-${n}`;
        try {
          const inode = await meta.createInode({ type: FileType.File, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent: dir, time: now() });
          uncertain.add(name);
          await meta.createDentry({ parentInodeId: dir, name, inodeId: inode.inodeId, type: FileType.File }, now());
          uncertain.delete(name);
          expected.set(name, inode.inodeId);
          acked++;
          if (n % 3 === 2) {
            const to = `m${c}-${n}`;
            uncertain.add(name);
            uncertain.add(to);
            await meta.rename({ srcParent: dir, srcName: name, srcInodeId: inode.inodeId, srcType: FileType.File, dstParent: dir, dstName: to, expectedDstInodeId: 0, time: now() });
            uncertain.delete(name);
            uncertain.delete(to);
            expected.delete(name);
            expected.set(to, inode.inodeId);
            acked++;
          }
        } catch (error) {
          failed++;
          if (failures.size < 5) failures.add((error as Error).message.slice(0, 200));
        }
      }
    };

    const killer = async (): Promise<number> => {
      let kills = 0;
      while (kills < KILLS) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        const target = await meta.router.forInode(dir);
        const leader = target.client.leaderAddress();
        const index = cluster.addresses.indexOf(leader);
        assert.ok(index >= 0, `leader ${leader}`);
        await cluster.stopServer(index, 'kill');
        kills++;
        await new Promise((r) => setTimeout(r, DOWN_MS));
        await cluster.startServer(index);
        // A follower stops answering (frozen, its connections open) and comes back.
        const follower = cluster.processes[(index + 1) % 3]!;
        follower.pause();
        await new Promise((r) => setTimeout(r, DOWN_MS));
        follower.resume();
      }
      // Some work after the last restart too.
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
      return kills;
    };

    const workers = Array.from({ length: CALLERS }, (_, c) => caller(c));
    const kills = await killer();
    isRunning = false;
    await Promise.all(workers);
    assert.equal(kills, KILLS);
    assert.ok(acked > 50, `acknowledged ${acked} (failed ${failed})`);

    const listed = await meta.listDentry(dir, '', 100_000);
    const present = new Map(listed.map((d) => [d.name, d.inodeId]));
    for (const [name, inodeId] of expected) {
      if (uncertain.has(name)) continue;
      assert.equal(present.get(name), inodeId, `acknowledged ${name} → ${inodeId} is present`);
    }
    for (const name of present.keys()) {
      assert.ok(expected.has(name) || uncertain.has(name), `${name} is present but was never acknowledged`);
    }
    console.log(`# kill test: ${kills} leader kills, ${acked} acknowledged, ${failed} failed, ${present.size} names`);
    for (const failure of failures) console.log(`# failed call: ${failure}`);

    // Everything down at once, then up again: the same client carries on.
    for (let i = 0; i < 3; i++) await cluster.stopServer(i, 'kill');
    for (let i = 0; i < 3; i++) await cluster.startServer(i);
    const relisted = await meta.listDentry(dir, '', 100_000);
    assert.deepEqual(relisted, listed, 'the directory survived a restart of every metaserver');
    await meta.createDentry({ parentInodeId: dir, name: 'after-restart', inodeId: dir + 1, type: FileType.File }, now());
    assert.notEqual(await meta.getDentry(dir, 'after-restart'), null);
  } finally {
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
});
