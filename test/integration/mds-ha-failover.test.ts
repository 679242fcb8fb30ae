/**
 * HA on a real etcd: 3 MDS child processes, 3 stand-in metaservers, clients
 * creating file systems and allocating chunk ids. kill -9 the leader in the
 * middle (then, after the dead one rejoined, the next leader too): a new
 * leader must serve within 10 s each time, every acknowledged fs must still
 * exist, and no chunk id may ever be handed out twice.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { freePorts } from '../helpers/ports.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { startStubMetaservers, type StubMetaservers } from './mds-stub-metaservers.js';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mds-runner.js');

let etcd: EtcdServer;
let dir: TempDir;
let addresses: string[];
const processes = new Map<string, ProcessHandle>();
let stubs: StubMetaservers | undefined;

async function startMdsProcess(address: string): Promise<void> {
  const handle = await startProcess({
    name: `mds-${address}`,
    command: process.execPath,
    args: [RUNNER, '--listen', address, '--data', dir.path, '--etcd', etcd.endpoints.join(','), '--ttl', '5'],
    ready: { kind: 'line', pattern: /MDS_READY/ },
    readyTimeoutMs: 15_000,
  });
  processes.set(address, handle);
}

function newClient(): RpcClient<MdsMethods> {
  return new RpcClient(mdsService(), {
    addresses,
    timeoutMs: 2000,
    totalTimeoutMs: 15_000,
    maxAttempts: 200,
    backoff: { initialMs: 50, maxMs: 300 },
  });
}

before(async () => {
  etcd = await startEtcd();
  dir = await makeTempDir('mds-ha');
  addresses = (await freePorts(3)).map((p) => `127.0.0.1:${p}`);
  await Promise.all(addresses.map((a) => startMdsProcess(a)));
  stubs = await startStubMetaservers({ count: 3, zones: ['z1', 'z2', 'z3'], mdsAddresses: addresses, heartbeatMs: 300 });
});

after(async () => {
  await stubs?.stop();
  await Promise.all([...processes.values()].map((p) => p.stop()));
  await etcd.destroy();
  await dir.remove();
});

test('kill -9 of the leader under load, twice: a new leader within 10 s, nothing acknowledged lost, no chunk id twice', async () => {
  const probe = newClient();
  const status = await probe.call('ClusterStatus', {});
  assert.equal(status.status, MetaStatusCode.OK, status.errorMessage);
  const firstLeader = probe.leaderAddress();
  assert.ok(addresses.includes(firstLeader));
  // Every MDS is listed; the one answering leads.
  assert.deepEqual(status.mds.map((m) => m.address), [...addresses].sort());
  assert.deepEqual(status.mds.filter((m) => m.isLeader).map((m) => m.address), [firstLeader]);

  const ackedFs: string[] = [];
  const chunkRanges: Array<[number, number]> = [];
  let stopLoad = false;
  let failures = 0;
  let lastOkMs = Date.now();
  const servedBy = new Set<string>();

  const fsWorker = async (worker: number): Promise<void> => {
    const client = newClient();
    for (let i = 0; !stopLoad && i < 500; i++) {
      const name = `fs-${worker}-${i}`;
      try {
        const res = await client.call('CreateFs', {
          fsName: name,
          storage: { type: StorageType.LOCAL, local: { path: path.join(dir.path, 'objects') } },
        });
        if (res.status === MetaStatusCode.OK) {
          ackedFs.push(name);
          lastOkMs = Date.now();
          servedBy.add(client.leaderAddress());
        } else failures++;
      } catch {
        failures++;
      }
    }
    client.close();
  };
  const chunkWorker = async (): Promise<void> => {
    const client = newClient();
    for (let i = 0; !stopLoad && i < 100_000; i++) {
      try {
        const res = await client.call('AllocateChunkIds', { count: 50 });
        if (res.status === MetaStatusCode.OK) {
          chunkRanges.push([res.startChunkId, res.count]);
          lastOkMs = Date.now();
        } else failures++;
      } catch {
        failures++;
      }
    }
    client.close();
  };
  const load = Promise.all([fsWorker(1), fsWorker(2), chunkWorker(), chunkWorker()]);

  await new Promise((r) => setTimeout(r, 1500));
  const fsBeforeKill = ackedFs.length;
  const chunksBeforeKill = chunkRanges.length;
  assert.ok(fsBeforeKill > 0 && chunksBeforeKill > 0, 'load made progress before the kill');
  /** Kills the current leader; resolves to the time until the next acknowledgement. */
  const killLeader = async (leader: string): Promise<number> => {
    await processes.get(leader)!.kill();
    // Measured from the moment the leader is dead (kill() returns after the exit).
    const killedAtMs = Date.now();
    const chunksAtKill = chunkRanges.length;
    const deadline = killedAtMs + 12_000;
    while (Date.now() < deadline && !(chunkRanges.length > chunksAtKill && lastOkMs > killedAtMs)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(lastOkMs > killedAtMs, 'served again after the kill');
    return lastOkMs - killedAtMs;
  };
  const failoverMs = await killLeader(firstLeader);
  assert.ok(failoverMs < 10_000, `new leader served after ${failoverMs} ms`);
  await new Promise((r) => setTimeout(r, 1000));

  // The dead MDS comes back as a follower; then the second leader dies too.
  await startMdsProcess(firstLeader);
  const secondLeader = (await probe.call('ClusterStatus', {})).mds.find((m) => m.isLeader)!.address;
  assert.notEqual(secondLeader, firstLeader);
  const secondFailoverMs = await killLeader(secondLeader);
  assert.ok(secondFailoverMs < 10_000, `third leader served after ${secondFailoverMs} ms`);
  await new Promise((r) => setTimeout(r, 1000));
  stopLoad = true;
  await load;
  probe.close();

  const check = newClient();
  const listed = await check.call('ListFs', {});
  assert.equal(listed.status, MetaStatusCode.OK);
  const newLeader = check.leaderAddress();
  assert.notEqual(newLeader, secondLeader);
  const names = new Set(listed.fsInfos.map((f) => f.fsName));
  const after = await check.call('ClusterStatus', {});
  assert.deepEqual(after.mds.filter((m) => m.isLeader).map((m) => m.address), [newLeader]);
  for (const name of ackedFs) assert.ok(names.has(name), `acknowledged fs ${name} survived the failover`);
  assert.ok(ackedFs.length > fsBeforeKill, 'file systems were created after the failover too');

  const seen = new Set<number>();
  for (const [start, count] of chunkRanges) {
    for (let id = start; id < start + count; id++) {
      assert.ok(!seen.has(id), `chunk id ${id} handed out twice`);
      seen.add(id);
    }
  }
  // Each fs got its root inode on the metaservers.
  for (const f of listed.fsInfos) if (ackedFs.includes(f.fsName)) assert.ok(stubs!.cluster.rootInodes.has(f.fsId));
  check.close();
  process.stdout.write(
    `# failovers ${failoverMs} and ${secondFailoverMs} ms; fs acked ${ackedFs.length}; chunk ranges ${chunkRanges.length}; failed calls ${failures}\n`,
  );
});
