/**
 * The MetaServer gRPC service (DESIGN §4): routes each request to the
 * copyset it names, proposes changes through Raft and answers reads after
 * ReadIndex. A replica that is not the leader answers REDIRECTED with the
 * leader's address (its Raft id) as the hint; the RpcClient follows it.
 * Expected outcomes travel as MetaStatusCode in the reply, never as gRPC
 * errors; a group that cannot answer in time replies UNAVAILABLE.
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { NotLeaderError, RaftUnavailableError } from '../../src/raft/node/errors.js';
import { StateType } from '../../src/raft/core/types.js';
import { isAddress, notLeader } from '../../src/rpc/leader-redirect.js';
import type { ServiceHandlers } from '../../src/rpc/rpc-server.js';
import type { RequestHeader } from '../../src/proto/types-common.js';
import type { GetChunkInfoResponse, MetaServerMethods } from '../../src/proto/types-metaserver.js';
import type { CopysetManager } from '../copyset/copyset-manager.js';
import type { CopysetNode } from '../copyset/copyset-node.js';
import { BATCH_IDS_MAX } from '../partition/limits.js';
import { OpType, type OpResult } from '../partition/ops.js';
import { attrToWire, chunksToWire, dentryToWire, inodeToWire, lockToWire, partitionToWire, xattrsToWire } from './wire.js';

/**
 * With no leader known (a new copyset, an election under way) a replica
 * waits this long for one before answering REDIRECTED, so callers are not
 * sent round the replicas while the group elects.
 */
const LEADER_WAIT_MS = 3_000;
const LEADER_POLL_MS = 20;

async function waitForLeader(node: CopysetNode): Promise<void> {
  for (let waited = 0; waited < LEADER_WAIT_MS && node.leaderId() === ''; waited += LEADER_POLL_MS) {
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
  }
}

/** Chunk indexes per GetChunkInfo stream message. */
const CHUNKS_PER_MESSAGE = 64;

type Reply = { status: MetaStatusCode; leaderHint?: string } & Record<string, unknown>;

const ROLE_NAMES: Record<StateType, string> = {
  [StateType.Follower]: 'follower',
  [StateType.Candidate]: 'candidate',
  [StateType.Leader]: 'leader',
  [StateType.PreCandidate]: 'pre-candidate',
};

/** An admin request naming a malformed peer address. */
class BadPeerError extends Error {}

/** Maps a Raft failure to a reply; anything else is a bug and propagates (INTERNAL). */
function failureReply(error: unknown): Reply {
  if (error instanceof BadPeerError) return { status: MetaStatusCode.PARAM_ERROR };
  if (error instanceof NotLeaderError) return { ...notLeader(error.leader) };
  if (error instanceof RaftUnavailableError) return { status: MetaStatusCode.UNAVAILABLE };
  throw error;
}

export function metaServerHandlers(manager: CopysetManager): ServiceHandlers<MetaServerMethods> {
  /** Runs `fn` on the named copyset's leader. */
  const onLeader = async (req: RequestHeader, fn: (node: CopysetNode) => Promise<Reply>): Promise<Reply> => {
    const node = manager.get(req.poolId, req.copysetId);
    if (node === undefined) return { status: MetaStatusCode.COPYSET_NOT_FOUND };
    if (!node.isLeader() && node.leaderId() === '') await waitForLeader(node);
    if (!node.isLeader()) return { ...notLeader(node.leaderId()) };
    try {
      return await fn(node);
    } catch (error) {
      return failureReply(error);
    }
  };
  const change = (type: OpType, req: RequestHeader, reply: (r: OpResult) => Record<string, unknown> = () => ({})) =>
    onLeader(req, async (node) => {
      const result = await node.propose(type, req);
      return { status: result.status, ...reply(result) };
    });
  const read = <T>(req: RequestHeader, query: (node: CopysetNode) => T, reply: (t: T) => Reply) =>
    onLeader(req, async (node) => reply(await node.read(() => query(node))));

  return {
    // ---- dentries ----
    GetDentry: (req) =>
      read(req, (n) => lookupWithAttr(n, req.fsId, req.partitionId, req.parentInodeId, req.name, req.withAttr === true), (r) => ({
        status: r.status,
        ...lookupToWire(req.fsId, req.parentInodeId, req.name, r),
      })),
    // Coalesced lookups: ONE read barrier (the same one GetDentry takes), then every item as GetDentry answers it.
    BatchGetDentry: (req) => {
      if (req.items.length > BATCH_IDS_MAX) return Promise.resolve({ status: MetaStatusCode.PARAM_ERROR });
      return read(
        req,
        (n) => req.items.map((item) => lookupWithAttr(n, req.fsId, req.partitionId, item.parentInodeId, item.name, req.withAttr === true)),
        (rs) => ({
          status: MetaStatusCode.OK,
          results: rs.map((r, i) => ({ status: r.status, ...lookupToWire(req.fsId, req.items[i]!.parentInodeId, req.items[i]!.name, r) })),
        }),
      );
    },
    ListDentry: (req) =>
      read(req, (n) => n.sm.listDentry(req.fsId, req.partitionId, req.dirInodeId, req.last, req.count, req.onlyDir), (r) => ({
        status: r.status,
        dentries: r.dentries.map(dentryToWire),
        lock: r.lock === undefined ? null : lockToWire(r.lock),
      })),
    CreateDentry: (req) =>
      change(OpType.CreateDentry, req, (r) => ({
        existing: r.dentry === undefined ? null : dentryToWire(r.dentry),
        lock: r.lock === undefined ? null : lockToWire(r.lock),
      })),
    DeleteDentry: (req) => change(OpType.DeleteDentry, req, (r) => ({ ...lockReply(r), childVersion: r.version ?? 0 })),
    Rename: (req) =>
      change(OpType.Rename, req, (r) => ({ replacedInodeId: r.replacedInodeId ?? 0, lock: r.lock === undefined ? null : lockToWire(r.lock) })),

    // ---- inodes ----
    GetInode: (req) =>
      read(req, (n) => n.sm.getInode(req.fsId, req.partitionId, req.inodeId, !req.supportStreaming), (r) => ({
        status: r.status,
        inode: r.inode === undefined ? null : inodeToWire(r.inode),
      })),
    BatchGetInodeAttr: (req) =>
      read(req, (n) => n.sm.batchGetInodeAttr(req.fsId, req.partitionId, req.inodeIds), (r) => ({
        status: r.status,
        attrs: r.attrs.map(attrToWire),
      })),
    BatchGetXAttr: (req) =>
      read(req, (n) => n.sm.batchGetXAttr(req.fsId, req.partitionId, req.inodeIds), (r) => ({
        status: r.status,
        xattrs: r.xattrs.map((x) => ({ fsId: req.fsId, inodeId: x.inodeId, xattrs: xattrsToWire(x.xattrs) })),
      })),
    CreateInode: (req) => change(OpType.CreateInode, req, (r) => ({ inode: r.inode === undefined ? null : inodeToWire({ ...r.inode, xattrs: new Map(), chunks: new Map() }) })),
    // Coalesced creates: ONE Raft entry (the request itself), each item applied as its CreateInode would be.
    BatchCreateInode: (req) => {
      if (req.items.length === 0 || req.items.length > BATCH_IDS_MAX) return Promise.resolve({ status: MetaStatusCode.PARAM_ERROR });
      return change(OpType.BatchCreateInode, req, (r) => ({
        results: (r.items ?? []).map((item) => ({ status: item.status, inode: item.inode === undefined ? null : attrToWire(item.inode) })),
      }));
    },
    UpdateInode: (req) => change(OpType.UpdateInode, req, (r) => ({ version: r.version ?? 0, ...lockReply(r) })),
    DeleteInode: (req) => change(OpType.DeleteInode, req, lockReply),
    CreateRootInode: (req) => change(OpType.CreateRootInode, req),

    // ---- chunk infos ----
    AppendChunkInfo: (req) => change(OpType.AppendChunkInfo, req, (r) => ({ version: r.version ?? 0 })),
    ReplaceChunkInfo: (req) => change(OpType.ReplaceChunkInfo, req),
    Truncate: (req) => change(OpType.Truncate, req, (r) => ({ version: r.version ?? 0 })),
    GetChunkInfo: {
      async *serverStream(req) {
        const reply = await read(req, (n) => n.sm.getChunkInfo(req.fsId, req.partitionId, req.inodeId, req.chunkIndexes), (r) => ({
          status: r.status,
          chunks: r.chunks,
          version: r.version,
        }));
        const chunks = reply.chunks as Map<number, never[]> | undefined;
        if (reply.status !== MetaStatusCode.OK || chunks === undefined || chunks.size <= CHUNKS_PER_MESSAGE) {
          yield { ...reply, chunks: chunks === undefined ? {} : chunksToWire(chunks) } as Partial<GetChunkInfoResponse>;
          return;
        }
        const entries = [...chunks.entries()];
        for (let i = 0; i < entries.length; i += CHUNKS_PER_MESSAGE) {
          yield { status: reply.status, version: reply.version as number, chunks: chunksToWire(new Map(entries.slice(i, i + CHUNKS_PER_MESSAGE))) };
        }
      },
    },

    // ---- rename transaction ----
    PrewriteRename: (req) =>
      change(OpType.PrewriteRename, req, (r) => ({ conflictingLock: r.lock === undefined ? null : lockToWire(r.lock) })),
    CommitRename: (req) => change(OpType.CommitRename, req),
    ResolveTxLock: (req) => change(OpType.ResolveTxLock, req),
    CheckTxStatus: (req) =>
      read(req, (n) => n.sm.checkTxStatus(req.fsId, req.partitionId, req.startTs, req.nowMs), (r) => ({
        status: r.status,
        txStatus: r.txStatus as number,
        commitTs: r.commitTs,
        isExpired: r.isExpired,
        secondaryPartitions: [...r.secondaries],
      })),

    // ---- partitions ----
    CreatePartition: (req) => change(OpType.CreatePartition, req),
    DeletePartition: (req) => change(OpType.DeletePartition, req),

    // ---- copysets and Raft admin ----
    CreateCopysetNode: async (req) => {
      // No peers: join an existing group (its leader adds this replica and sends it the state).
      const addresses = req.peers.map((p) => p.address);
      if (!addresses.every(isAddress) || new Set(addresses).size !== addresses.length) {
        return { status: MetaStatusCode.PARAM_ERROR };
      }
      const outcome = await manager.create(req.poolId, req.copysetId, addresses);
      return { status: outcome === 'created' ? MetaStatusCode.OK : MetaStatusCode.EXIST };
    },
    DeleteCopysetNode: async (req) => {
      const outcome = await manager.removeIfNotMember(req.poolId, req.copysetId, {
        epoch: req.epoch,
        peers: req.peers.map((p) => p.address),
      });
      // 'absent': already gone (a resend) or never hosted; 'member': still in the group, kept.
      return { status: outcome === 'member' ? MetaStatusCode.PARAM_ERROR : outcome === 'busy' ? MetaStatusCode.FS_BUSY : MetaStatusCode.OK };
    },
    GetCopysetStatus: async (req) => {
      const node = manager.get(req.poolId, req.copysetId);
      if (node === undefined) return { status: MetaStatusCode.COPYSET_NOT_FOUND };
      const s = node.status();
      return {
        status: MetaStatusCode.OK,
        leaderHint: s.leader,
        copyset: {
          poolId: req.poolId,
          copysetId: req.copysetId,
          epoch: node.sm.epoch,
          peers: s.confState.voters.map((address) => ({ id: 0, address })),
          leader: { id: 0, address: s.leader },
          partitions: node.sm.partitionInfos().map((p) => partitionToWire(p, req.poolId, req.copysetId)),
        },
        term: s.term,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        lastLogIndex: s.lastIndex,
        role: ROLE_NAMES[s.role] ?? 'unknown',
      };
    },
    GetLeader: async (req) => {
      const node = manager.get(req.poolId, req.copysetId);
      if (node === undefined) return { status: MetaStatusCode.COPYSET_NOT_FOUND };
      const leader = node.leaderId();
      return { status: leader === '' ? MetaStatusCode.UNAVAILABLE : MetaStatusCode.OK, leaderHint: leader, leader: { id: 0, address: leader } };
    },
    AddPeer: (req) => onLeader(req, (node) => membership(node, req.epoch, () => node.raft.addPeer(checkedAddress(req.peer?.address)))),
    RemovePeer: (req) => onLeader(req, (node) => membership(node, req.epoch, () => node.raft.removePeer(checkedAddress(req.peer?.address)))),
    ChangePeer: (req) =>
      onLeader(req, (node) =>
        membership(node, req.epoch, () => node.raft.changePeer(checkedAddress(req.oldPeer?.address), checkedAddress(req.peer?.address))),
      ),
    TransferLeader: (req) =>
      onLeader(req, async (node) => {
        await node.raft.transferLeader(checkedAddress(req.peer?.address));
        return peersReply(node.status().confState, node.sm.epoch);
      }),
  } as ServiceHandlers<MetaServerMethods>;
}

/**
 * GetDentry plus (with_attr), when the child's inode lives in a partition of the same
 * copyset, its attributes read at the same point (after the same read
 * barrier, so just as linearizable): a path lookup then costs one RPC
 * instead of GetDentry + GetInode.
 */
type Lookup = ReturnType<CopysetNode['sm']['getDentry']> & { attr?: ReturnType<CopysetNode['sm']['batchGetInodeAttr']>['attrs'][number] };

function lookupWithAttr(node: CopysetNode, fsId: number, partitionId: number, parentId: number, name: string, withAttr: boolean): Lookup {
  const found = node.sm.getDentry(fsId, partitionId, parentId, name);
  if (found.dentry === undefined || !withAttr) return found;
  const owner = node.sm.partitionOf(fsId, found.dentry.inodeId);
  if (owner === undefined) return found;
  const { attrs } = node.sm.batchGetInodeAttr(fsId, owner.partitionId, [found.dentry.inodeId]);
  return attrs.length === 1 ? { ...found, attr: attrs[0]! } : found;
}

/** The dentry (or, TX_LOCKED, the name with its lock) and attr fields of a lookup reply. */
function lookupToWire(fsId: number, parentId: number, name: string, r: Lookup): Record<string, unknown> {
  return {
    dentry: r.dentry !== undefined ? dentryToWire(r.dentry) : r.lock !== undefined ? { fsId, parentInodeId: parentId, name, lock: lockToWire(r.lock) } : null,
    attr: r.attr === undefined ? null : attrToWire(r.attr),
  };
}

function checkedAddress(address: string | undefined): string {
  if (address === undefined || !isAddress(address)) throw new BadPeerError(`bad peer address ${address}`);
  return address;
}

/** The lock in the way of a TX_LOCKED change, for the caller to resolve. */
function lockReply(r: OpResult): Record<string, unknown> {
  return { lock: r.lock === undefined ? null : lockToWire(r.lock) };
}

function peersReply(conf: { voters: readonly string[] }, epoch: number): Reply {
  return { status: MetaStatusCode.OK, peers: conf.voters.map((address) => ({ id: 0, address })), epoch };
}

/**
 * A membership change: refused with VERSION_MISMATCH if the caller expects
 * another epoch (0 = any); afterwards the new voters are recorded (epoch + 1).
 */
async function membership(node: CopysetNode, expectedEpoch: number, change: () => Promise<{ voters: readonly string[] }>): Promise<Reply> {
  await node.syncEpoch();
  if (expectedEpoch !== 0 && expectedEpoch !== node.sm.epoch) return { status: MetaStatusCode.VERSION_MISMATCH, epoch: node.sm.epoch };
  const conf = await change();
  await node.syncEpoch();
  return peersReply(conf, node.sm.epoch);
}
