/**
 * A copyset on this metaserver: one Raft group (RaftNode) whose state
 * machine is the CopysetStateMachine. Changes are proposed as log entries
 * (op-codec.ts) and resolve with the apply result; reads wait for ReadIndex
 * (leadership confirmed by the leader's lease, or by a heartbeat round when
 * `raft.leaseReads` is false; the state machine caught up) and then run
 * synchronously against the state machine, so a read sees every change
 * acknowledged before it started.
 *
 * Both throw NotLeaderError (with the leader's id, which is its service
 * address) on a follower, and RaftUnavailableError when the group cannot
 * answer in time.
 */
import { assert } from '../../src/common/assert.js';
import type { Entry, NodeId, SnapshotMeta } from '../../src/raft/core/types.js';
import type { RaftHost, GroupOptions } from '../../src/raft/multi/raft-host.js';
import { groupId, type GroupId } from '../../src/raft/multi/group-id.js';
import type { RaftNode, RaftNodeStatus } from '../../src/raft/node/raft-node.js';
import type { StateMachine } from '../../src/raft/node/state-machine.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { CopysetStateMachine } from '../partition/copyset-state-machine.js';
import type { OpResult } from '../partition/ops.js';
import { OpType } from '../partition/ops.js';
import { decodeSnapshot, snapshotChunks } from '../partition/snapshot-codec.js';
import { decodeEntry, encodeEntry, isEntryFromNewerVersion } from './op-codec.js';

/** Adapts the pure state machine to the Raft driver's StateMachine contract. */
export class CopysetRaftStateMachine implements StateMachine<OpResult> {
  constructor(readonly sm: CopysetStateMachine) {}

  apply(entries: readonly Entry[]): OpResult[] {
    const results: OpResult[] = [];
    for (const entry of entries) {
      const op = decodeEntry(entry.data);
      if (op === undefined) {
        if (isEntryFromNewerVersion(entry.data)) {
          // Halts this replica's group (RaftNode onFatal) rather than diverge from newer replicas.
          throw new Error(
            `copyset entry ${entry.index} has an op type this metaserver version does not know: upgrade every replica before clients use new RPCs`,
          );
        }
        // Malformed (never written by a leader of this version): refused alike on every replica.
        this.sm.applyEmpty(entry.index);
        results.push({ status: MetaStatusCode.PARAM_ERROR });
        continue;
      }
      // Undefined = already applied (replay after a snapshot): nobody waits for it.
      results.push(this.sm.apply(entry.index, op) ?? { status: MetaStatusCode.OK });
    }
    return results;
  }

  snapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    assert(this.sm.appliedIndex <= meta.index, 'snapshot taken at or after the last applied op');
    return snapshotChunks(this.sm);
  }

  async restore(chunks: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void> {
    const restored = await decodeSnapshot(chunks);
    assert(restored.appliedIndex <= meta.index, 'snapshot image is not ahead of its meta');
    this.sm.resetFrom(restored);
    // Entries between the last op and meta.index were no-ops or conf changes.
    this.sm.appliedIndex = meta.index;
  }
}

export interface CopysetNodeOptions {
  readonly poolId: number;
  readonly copysetId: number;
  /** Voters (service addresses) of a new copyset; ignored when its WAL already has state. */
  readonly peers: readonly NodeId[];
  /** This copyset's directory (wal/ and snapshot/ go below it). */
  readonly dir: string;
  readonly host: RaftHost;
  readonly raft?: Partial<Omit<GroupOptions<OpResult>, 'stateMachine' | 'dir' | 'peers'>>;
}

export class CopysetNode {
  readonly poolId: number;
  readonly copysetId: number;
  readonly groupId: GroupId;
  readonly sm = new CopysetStateMachine();

  private constructor(
    options: CopysetNodeOptions,
    private raftNode: RaftNode<OpResult> | undefined,
  ) {
    this.poolId = options.poolId;
    this.copysetId = options.copysetId;
    this.groupId = groupId(options.poolId, options.copysetId);
  }

  static async start(options: CopysetNodeOptions): Promise<CopysetNode> {
    const node = new CopysetNode(options, undefined);
    node.raftNode = await options.host.startGroup<OpResult>(node.groupId, {
      // Leader lease reads (DESIGN §10; check-quorum is always on): a read
      // waits only for the apply, not for a heartbeat round to a quorum.
      leaseReads: true,
      ...options.raft,
      dir: options.dir,
      peers: options.peers,
      stateMachine: new CopysetRaftStateMachine(node.sm),
    });
    // A new leader records the voters if the last membership change did not get to (epoch).
    node.raftNode.onLeaderChange((leader) => {
      if (leader === node.raftNode?.id) node.syncEpoch().catch(() => undefined);
    });
    return node;
  }

  /**
   * Leader only: if the Raft voters differ from those recorded with the
   * copyset's epoch, records them (the epoch goes up by one). Called after
   * each membership change and when leadership is gained.
   */
  async syncEpoch(): Promise<void> {
    if (!this.isLeader()) return;
    const voters = [...this.status().confState.voters].sort();
    const recorded = this.sm.epochVoters;
    if (voters.length === recorded.length && voters.every((v, i) => v === recorded[i])) return;
    await this.propose(OpType.SetCopysetVoters, { poolId: this.poolId, copysetId: this.copysetId, voters });
  }

  get raft(): RaftNode<OpResult> {
    assert(this.raftNode !== undefined, 'copyset started');
    return this.raftNode;
  }

  /** Replicates one change; resolves with its result once applied here. */
  propose(type: OpType, request: object): Promise<OpResult> {
    return this.raft.propose(encodeEntry(type, request));
  }

  /** Runs `read` against the state machine after ReadIndex (linearizable). */
  async read<T>(read: (sm: CopysetStateMachine) => T): Promise<T> {
    await this.readBarrier();
    return read(this.sm);
  }

  /**
   * Coalesced ReadIndex: reads arriving while a round is in flight share
   * the NEXT round (one that starts after they arrived, so it still covers
   * every write acknowledged before them); at most two rounds at a time.
   */
  private readBarrier(): Promise<void> {
    if (this.roundInFlight === undefined) {
      const round = this.raft.linearizableRead().finally(() => {
        if (this.roundInFlight === round) this.roundInFlight = undefined;
      });
      this.roundInFlight = round;
      return round;
    }
    if (this.nextRound === undefined) {
      const next = this.roundInFlight
        .catch(() => undefined)
        .then(() => {
          this.nextRound = undefined;
          return this.readBarrier();
        });
      this.nextRound = next;
    }
    return this.nextRound;
  }

  private roundInFlight: Promise<void> | undefined;
  private nextRound: Promise<void> | undefined;

  isLeader(): boolean {
    return this.raftNode?.isLeader() === true;
  }

  leaderId(): NodeId | '' {
    return this.raftNode?.leaderId() ?? '';
  }

  status(): RaftNodeStatus {
    return this.raft.status();
  }
}
