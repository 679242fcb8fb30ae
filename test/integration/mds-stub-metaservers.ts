/**
 * Stand-in metaservers for MDS tests: real gRPC servers speaking the
 * MetaServer service (only the admin methods the MDS calls) and real MDS
 * clients that register and heartbeat over the wire. They keep copysets,
 * partitions and root inodes in one shared in-memory "cluster" (no Raft, no
 * inodes): enough to test the MDS's placement, idempotency and scheduling
 * end to end through GrpcMetaserverAdmin. The real metaserver is tested in
 * its own suites.
 *
 * The leader of a copyset is its lowest-id live peer; other peers answer
 * REDIRECTED with that leader's address, as a real follower would.
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService, metaServerService } from '../../src/proto/index.js';
import type { CopysetInfo, PartitionInfo, Peer } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient, RpcServer } from '../../src/rpc/index.js';

export interface StubCopyset {
  poolId: number;
  copysetId: number;
  epoch: number;
  peers: Peer[];
  /** Leader chosen by TransferLeader (0: the lowest-id live peer leads). */
  preferredLeader: number;
}

export interface StubCluster {
  readonly copysets: Map<string, StubCopyset>;
  readonly partitions: Map<number, PartitionInfo>;
  /** fsId → partition id holding the root inode. */
  readonly rootInodes: Map<number, number>;
  readonly calls: string[];
  /** Methods that fail with UNAVAILABLE (to test error paths). */
  readonly failing: Set<string>;
}

export interface StubMetaserver {
  readonly address: string;
  readonly zone: string;
  /** Id the MDS assigned (0 until registered). */
  id: number;
  /** Stops heartbeating and serving (as if killed). */
  kill(): Promise<void>;
  readonly isAlive: boolean;
}

export interface StubMetaservers {
  readonly cluster: StubCluster;
  readonly servers: StubMetaserver[];
  stop(): Promise<void>;
}

const key = (poolId: number, copysetId: number): string => `${poolId}/${copysetId}`;

export async function startStubMetaservers(options: {
  count: number;
  zones: readonly string[];
  mdsAddresses: readonly string[];
  heartbeatMs?: number;
}): Promise<StubMetaservers> {
  const cluster: StubCluster = { copysets: new Map(), partitions: new Map(), rootInodes: new Map(), calls: [], failing: new Set() };
  const servers: StubMetaserver[] = [];
  const alive = new Set<string>();
  const stops: Array<() => Promise<void>> = [];
  const byAddress = new Map<string, StubMetaserver>();

  const leaderOf = (c: StubCopyset): Peer | undefined =>
    c.peers.find((p) => p.id === c.preferredLeader && alive.has(p.address)) ??
    [...c.peers].sort((a, b) => a.id - b.id).find((p) => alive.has(p.address));

  for (let i = 0; i < options.count; i++) {
    const rpc = new RpcServer({ host: '127.0.0.1', port: 0 });
    let selfAddress = '';
    const redirectUnlessLeader = (poolId: number, copysetId: number): { status: MetaStatusCode; leaderHint: string } | null => {
      const c = cluster.copysets.get(key(poolId, copysetId));
      if (c === undefined) return { status: MetaStatusCode.COPYSET_NOT_FOUND, leaderHint: '' };
      const leader = leaderOf(c);
      if (leader === undefined || leader.address !== selfAddress) return { status: MetaStatusCode.REDIRECTED, leaderHint: leader?.address ?? '' };
      return null;
    };
    const failIf = (method: string): { status: MetaStatusCode; leaderHint: string } | null =>
      cluster.failing.has(method) ? { status: MetaStatusCode.UNAVAILABLE, leaderHint: '' } : null;
    rpc.addService(metaServerService(), {
      CreateCopysetNode: (req) => {
        cluster.calls.push(`CreateCopysetNode ${req.copysetId} @${selfAddress}`);
        const fail = failIf('CreateCopysetNode');
        if (fail) return fail;
        const existing = cluster.copysets.get(key(req.poolId, req.copysetId));
        // Empty peers: join an existing group (its configuration comes from the leader).
        if (req.peers.length === 0) {
          return { status: existing === undefined ? MetaStatusCode.COPYSET_NOT_FOUND : MetaStatusCode.OK, leaderHint: '' };
        }
        if (existing === undefined) {
          cluster.copysets.set(key(req.poolId, req.copysetId), { poolId: req.poolId, copysetId: req.copysetId, epoch: 0, peers: req.peers.map((p) => ({ ...p })), preferredLeader: 0 });
        }
        return { status: MetaStatusCode.OK, leaderHint: '' };
      },
      CreatePartition: (req) => {
        cluster.calls.push(`CreatePartition ${req.partitionId} @${selfAddress}`);
        const fail = failIf('CreatePartition') ?? redirectUnlessLeader(req.poolId, req.copysetId);
        if (fail) return fail;
        if (cluster.partitions.has(req.partitionId)) return { status: MetaStatusCode.EXIST, leaderHint: '' };
        cluster.partitions.set(req.partitionId, req.partition!);
        return { status: MetaStatusCode.OK, leaderHint: '' };
      },
      CreateRootInode: (req) => {
        cluster.calls.push(`CreateRootInode ${req.fsId} @${selfAddress}`);
        const fail = failIf('CreateRootInode') ?? redirectUnlessLeader(req.poolId, req.copysetId);
        if (fail) return fail;
        if (!cluster.partitions.has(req.partitionId)) return { status: MetaStatusCode.PARTITION_NOT_FOUND, leaderHint: '' };
        if (cluster.rootInodes.has(req.fsId)) return { status: MetaStatusCode.EXIST, leaderHint: '' };
        cluster.rootInodes.set(req.fsId, req.partitionId);
        return { status: MetaStatusCode.OK, leaderHint: '' };
      },
      DeletePartition: (req) => {
        cluster.calls.push(`DeletePartition ${req.partitionId} @${selfAddress}`);
        const fail = failIf('DeletePartition') ?? redirectUnlessLeader(req.poolId, req.copysetId);
        if (fail) return fail;
        if (!cluster.partitions.delete(req.partitionId)) return { status: MetaStatusCode.PARTITION_NOT_FOUND, leaderHint: '' };
        for (const [fsId, partitionId] of cluster.rootInodes) if (partitionId === req.partitionId) cluster.rootInodes.delete(fsId);
        return { status: MetaStatusCode.OK, leaderHint: '' };
      },
      ChangePeer: (req) => {
        cluster.calls.push(`ChangePeer ${req.copysetId} ${req.oldPeer?.id}->${req.peer?.id} @${selfAddress}`);
        const fail = failIf('ChangePeer') ?? redirectUnlessLeader(req.poolId, req.copysetId);
        if (fail) return fail;
        const c = cluster.copysets.get(key(req.poolId, req.copysetId))!;
        c.peers = c.peers.map((p) => (p.id === req.oldPeer!.id ? { ...req.peer! } : p));
        c.epoch++;
        return { status: MetaStatusCode.OK, leaderHint: '', peers: c.peers, epoch: c.epoch };
      },
      TransferLeader: (req) => {
        cluster.calls.push(`TransferLeader ${req.copysetId} ->${req.peer?.id} @${selfAddress}`);
        const fail = failIf('TransferLeader') ?? redirectUnlessLeader(req.poolId, req.copysetId);
        if (fail) return fail;
        const c = cluster.copysets.get(key(req.poolId, req.copysetId))!;
        if (!c.peers.some((p) => p.id === req.peer!.id)) return { status: MetaStatusCode.PARAM_ERROR, leaderHint: '', peers: [], epoch: c.epoch };
        c.preferredLeader = req.peer!.id;
        return { status: MetaStatusCode.OK, leaderHint: '', peers: c.peers, epoch: c.epoch };
      },
    });
    const port = await rpc.start();
    selfAddress = `127.0.0.1:${port}`;
    alive.add(selfAddress);
    const zone = options.zones[i % options.zones.length]!;
    const mds = new RpcClient<MdsMethods>(mdsService(), { addresses: options.mdsAddresses, timeoutMs: 2000, totalTimeoutMs: 15000 });
    let token = '';
    let timer: NodeJS.Timeout | undefined;
    const server: StubMetaserver = {
      address: selfAddress,
      zone,
      id: 0,
      get isAlive() {
        return alive.has(selfAddress);
      },
      async kill() {
        alive.delete(selfAddress);
        if (timer) clearInterval(timer);
        mds.close();
        await rpc.shutdown(100);
      },
    };
    const registered = await mds.call('RegisterMetaServer', {
      hostname: `host-${i}`,
      internalIp: '127.0.0.1',
      internalPort: port,
      zone,
      pool: 'default',
    });
    if (registered.status !== MetaStatusCode.OK) throw new Error(`stub metaserver ${i}: register failed: ${MetaStatusCode[registered.status]}`);
    server.id = registered.metaserverId;
    token = registered.token;
    let isBeating = false;
    const beat = async (): Promise<void> => {
      if (isBeating || !alive.has(selfAddress)) return;
      isBeating = true;
      try {
        const copysets: CopysetInfo[] = [];
        for (const c of cluster.copysets.values()) {
          if (!c.peers.some((p) => p.address === selfAddress)) continue;
          const leader = leaderOf(c) ?? null;
          copysets.push({
            poolId: c.poolId,
            copysetId: c.copysetId,
            epoch: c.epoch,
            peers: c.peers,
            leader,
            partitions: [...cluster.partitions.values()].filter((p) => p.copysetId === c.copysetId),
          });
        }
        await mds.call('MetaServerHeartbeat', {
          metaserverId: server.id,
          token,
          internalIp: '127.0.0.1',
          internalPort: port,
          copysets,
          space: { diskCapacityBytes: 1 << 30, diskUsedBytes: 1 << 20, memoryUsedBytes: 1 << 20 },
        });
      } catch {
        // The MDS may be failing over; the next beat retries.
      } finally {
        isBeating = false;
      }
    };
    timer = setInterval(() => void beat(), options.heartbeatMs ?? 300);
    await beat();
    servers.push(server);
    byAddress.set(selfAddress, server);
    stops.push(() => server.kill());
  }
  return {
    cluster,
    servers,
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
