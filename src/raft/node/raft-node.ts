/**
 * RaftNode: the driver of one Raft group on this process. It owns the WAL,
 * the snapshot store and the state machine, runs the core's Ready loop, and
 * offers promises to callers: proposals resolved with their apply result,
 * linearizable reads (ReadIndex), membership changes and leader transfer.
 *
 * The Ready loop (see src/raft/core/raw-node.ts for the contract):
 *   1. persist: rd.snapshot (marker; data already staged), rd.entries and
 *      rd.hardState, written to the WAL and fsync'd (group commit: every
 *      proposal that arrived since the last Ready shares this fsync). A
 *      Ready whose only change is the commit index (mustSync false) is
 *      written without an fsync of its own: it rides the next one;
 *   2. send rd.messages, after the fsync. One exception, from the Raft
 *      thesis §10.2.1: a leader's MsgApp/MsgHeartbeat go out BEFORE its own
 *      fsync, so the leader's and the followers' fsyncs overlap. This is safe
 *      here because the loop is sequential: a commit index that counts the
 *      leader's own not-yet-durable entries can only be computed from acks to
 *      messages of this Ready, and is acted on (applied, sent) only in a
 *      later Ready, after this Ready's fsync;
 *   3. apply rd.snapshot (restore), then rd.committedEntries. Committed
 *      entries that were already durable before this Ready are applied while
 *      the fsync of new entries is in flight;
 *   4. advance.
 *
 * A leader does not wait for its own write (RawNode's async leader append):
 * its Ready is advanced as soon as its write is queued, the rest of its
 * messages go out once the write is durable, and then the core is told
 * (appendDurable), which counts the leader's copy toward the quorum. So an
 * entry commits as soon as a quorum has it durable, the leader's disk being
 * just one of the voters: with 3 voters, the two followers' acks suffice
 * when they beat the leader's own write. Acknowledged writes are still on a
 * quorum's disk. The WAL is one FIFO, so every later write (and the
 * follower-side awaits) completes after the earlier ones.
 *
 * Proposals are accepted only on the leader (NotLeaderError carries the
 * leader hint); if it loses leadership the pending ones reject with
 * NotLeaderError and their outcome is unknown (they may still commit).
 *
 * Snapshots: when the log held since the last snapshot passes
 * `snapshotLogBytes` / `snapshotLogEntries`, the state machine captures its
 * image at the applied index, the store writes it, the WAL records the
 * marker and drops the segments behind it. A follower too far behind gets
 * the snapshot streamed in chunks by the transport.
 *
 * Fatal errors (a failed fsync, a corrupt WAL): the node stops, rejects
 * everything pending and calls `onFatal` (default: rethrow asynchronously,
 * crashing the process, which then recovers from its files).
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { assert } from '../../common/assert.js';
import type { Clock } from '../../common/clock.js';
import { MonotonicClock } from '../../common/clock.js';
import { CorruptionError } from '../../common/errors.js';
import { registry as processRegistry } from '../../common/metrics.js';
import type { Random } from '../../common/random.js';
import { SeededRandom } from '../../common/random.js';
import { decodeConfChange } from '../core/codec.js';
import type { Message } from '../core/messages.js';
import { MessageType } from '../core/messages.js';
import { RawNode } from '../core/raw-node.js';
import type { Ready } from '../core/raw-node.js';
import { ReadOnlyOption } from '../core/read-only.js';
import type { ConfChange, ConfState, Entry, NodeId, SnapshotMeta } from '../core/types.js';
import { ConfChangeTransition, ConfChangeType, EntryType, StateType, isEmptyHardState } from '../core/types.js';
import type { GroupId } from '../multi/group-id.js';
import type { SnapshotChunkIn, SnapshotReceiveResult, Transport } from '../multi/transport.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { Wal } from '../wal/wal.js';
import { NotLeaderError, RaftUnavailableError } from './errors.js';
import { frameProposal, unframeProposal, PROPOSAL_HEADER_BYTES } from './proposal-codec.js';
import { RaftMetrics } from './raft-metrics.js';
import type { StateMachine } from './state-machine.js';
import type { Ticker } from './ticker.js';

export interface RaftNodeOptions<R> {
  readonly groupId: GroupId;
  /** This node's id in the group (with the gRPC transport: its "host:port"). */
  readonly id: NodeId;
  /** Voters of a brand-new group; ignored when the WAL already has state. Empty: join later (added by the leader). */
  readonly peers?: readonly NodeId[];
  /** Holds `wal/` and `snapshot/`. */
  readonly dir: string;
  readonly stateMachine: StateMachine<R>;
  readonly transport: Transport;
  readonly ticker: Ticker;
  /** Election jitter source; default seeded from crypto. */
  readonly random?: Random;
  /** For request timeouts; default monotonic time. */
  readonly clock?: Clock;
  /** Ticks without a leader before campaigning (default 10: ~1 s at 100 ms ticks). */
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot when the log since the last one holds this many payload bytes (default 64 MiB). */
  readonly snapshotLogBytes?: number;
  readonly snapshotLogEntries?: number;
  readonly snapshotsRetained?: number;
  /** Proposals, reads and membership changes not done within this reject with RaftUnavailableError. */
  readonly requestTimeoutMs?: number;
  readonly walSegmentBytes?: number;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  /** Flow control: bytes of entries in flight per follower (default 16 MiB). */
  readonly maxInflightBytes?: number;
  readonly maxUncommittedEntriesSize?: number;
  /** Opt-in lease reads (needs bounded clock drift); default ReadIndex. */
  readonly leaseReads?: boolean;
  /** Prometheus registry for per-group gauges; null disables; default the process registry. */
  readonly registry?: Registry | null;
  readonly onFatal?: (error: unknown) => void;
}

export interface RaftNodeStatus {
  readonly groupId: GroupId;
  readonly id: NodeId;
  readonly role: StateType;
  readonly leader: NodeId | '';
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly confState: ConfState;
  /** Snapshots streamed to followers / installed from a leader since start. */
  readonly snapshotsSent: number;
  readonly snapshotsInstalled: number;
}

export type LeaderChangeListener = (leader: NodeId | '', term: number) => void;

interface Waiter<T> {
  readonly resolve: (v: T) => void;
  readonly reject: (e: unknown) => void;
  readonly deadlineMs: number;
}

const DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotLogBytes: 64 * 1024 * 1024,
  snapshotLogEntries: 200_000,
  requestTimeoutMs: 10_000,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 16 * 1024 * 1024,
  maxUncommittedEntriesSize: 64 * 1024 * 1024,
};

/**
 * A brand-new group starts from a snapshot at (index 1, term 1) holding the
 * initial voters and the state machine's empty image, written identically by
 * every founding member. A member added later starts empty and receives that
 * (or a later) snapshot from the leader, so it learns the full membership;
 * initial members held only in a WAL marker would be invisible to it.
 */
async function bootstrap<R>(wal: Wal, store: SnapshotStore, options: RaftNodeOptions<R>): Promise<SnapshotMeta> {
  const meta: SnapshotMeta = { index: 1, term: 1, confState: { voters: [...options.peers!], votersOutgoing: [], learners: [] } };
  await store.save(meta, options.stateMachine.snapshot(meta));
  await wal.saveSnapshot(meta);
  await wal.append([], { term: 1, vote: '', commit: 1 });
  return meta;
}

export class RaftNode<R = unknown> {
  readonly groupId: GroupId;
  readonly id: NodeId;
  private readonly rawNode: RawNode;
  private readonly sm: StateMachine<R>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly incarnation = randomInt(0, 0x1_0000_0000);
  private sequence = 0;
  private readonly proposals = new Map<number, Waiter<R>>();
  private readonly confChanges = new Map<number, Waiter<ConfState>>();
  /** Joint changes wait until the joint config is left. */
  private readonly awaitingLeaveJoint: Waiter<ConfState>[] = [];
  private readonly reads = new Map<number, Waiter<void>>();
  /** ReadIndex answers waiting for the state machine to reach their index. */
  private readyReads: { index: number; key: number }[] = [];
  private readonly transfers: { to: NodeId; waiter: Waiter<void> }[] = [];
  private readonly leaderListeners: LeaderChangeListener[] = [];
  private readonly snapshotsSending = new Set<NodeId>();
  private confState: ConfState;
  private applied: number;
  private role: StateType = StateType.Follower;
  private leader: NodeId | '' = '';
  private isLoopRunning = false;
  private isLoopScheduled = false;
  private isSnapshotting = false;
  private isStopped = false;
  private failure: unknown = undefined;
  private loopIdle: Promise<void> = Promise.resolve();
  private snapshotTask: Promise<void> = Promise.resolve();
  private unsubscribeTicker: () => void = () => undefined;
  private unregisterMetrics: () => void = () => undefined;
  private tickCount = 0;
  private snapshotsSent = 0;
  private snapshotsInstalled = 0;

  private constructor(
    private readonly options: RaftNodeOptions<R>,
    private readonly wal: Wal,
    private readonly store: SnapshotStore,
    applied: number,
  ) {
    this.groupId = options.groupId;
    this.id = options.id;
    this.sm = options.stateMachine;
    this.transport = options.transport;
    this.clock = options.clock ?? new MonotonicClock();
    this.applied = applied;
    this.confState = wal.confState();
    this.rawNode = new RawNode({
      id: options.id,
      storage: wal,
      random: options.random ?? new SeededRandom(randomInt(0, 0x7fff_ffff)),
      electionTick: options.electionTicks ?? DEFAULTS.electionTicks,
      heartbeatTick: options.heartbeatTicks ?? DEFAULTS.heartbeatTicks,
      applied,
      maxSizePerMsg: options.maxSizePerMsg ?? DEFAULTS.maxSizePerMsg,
      maxInflightMsgs: options.maxInflightMsgs ?? DEFAULTS.maxInflightMsgs,
      maxInflightBytes: options.maxInflightBytes ?? DEFAULTS.maxInflightBytes,
      maxUncommittedEntriesSize: options.maxUncommittedEntriesSize ?? DEFAULTS.maxUncommittedEntriesSize,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: options.leaseReads === true ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      stepDownOnRemoval: true,
      // Followers learn the commit index from the next append or heartbeat (raft.ts Config.skipBcastCommit).
      skipBcastCommit: true,
    });
  }

  /**
   * Opens the group's WAL and snapshots under `options.dir`, restores the
   * state machine from the latest snapshot the WAL refers to, and starts
   * ticking. Committed entries after the snapshot are re-applied.
   */
  static async start<R>(options: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const wal = await Wal.open(join(options.dir, 'wal'), options.walSegmentBytes === undefined ? {} : { segmentBytes: options.walSegmentBytes });
    const store = await SnapshotStore.open(join(options.dir, 'snapshot'), { retain: options.snapshotsRetained ?? 2 });
    let meta = wal.snapshotMeta();
    if (meta.index > 0) {
      const info = store.list().find((s) => s.meta.index === meta.index && s.meta.term === meta.term);
      if (info === undefined) {
        throw new CorruptionError(`raft ${options.groupId}: WAL is compacted to ${meta.term}/${meta.index} but that snapshot is missing`);
      }
      await options.stateMachine.restore(store.read(info), meta);
    } else if (wal.lastIndex() === 0 && isEmptyHardState(wal.hardState()) && (options.peers?.length ?? 0) > 0) {
      meta = await bootstrap(wal, store, options);
    }
    const node = new RaftNode<R>(options, wal, store, meta.index);
    node.unsubscribeTicker = options.ticker.subscribe(() => node.tick());
    if (options.registry !== null) {
      node.unregisterMetrics = RaftMetrics.for(options.registry ?? processRegistry).register({
        groupId: options.groupId,
        nodeId: options.id,
        term: () => node.rawNode.raft.term,
        role: () => node.role,
        commitIndex: () => node.rawNode.raft.raftLog.committed,
        appliedIndex: () => node.applied,
        logEntries: () => node.wal.logEntryCount(),
        logBytes: () => node.wal.logDataBytes(),
        snapshotIndex: () => node.wal.snapshotMeta().index,
      });
    }
    node.schedule();
    return node;
  }

  // ---- public API ----

  /** Replicates `data`; resolves with the state machine's result once applied here. Leader only. */
  propose(data: Uint8Array): Promise<R> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    if (this.role !== StateType.Leader) return Promise.reject(new NotLeaderError(this.leader));
    const seq = this.nextSequence();
    const key = seq;
    const result = this.rawNode.propose(frameProposal(this.incarnation, seq, data));
    if (result !== 'ok') return Promise.reject(new RaftUnavailableError(`raft ${this.groupId}: proposal dropped (${result})`));
    this.schedule();
    return new Promise<R>((resolve, reject) => {
      this.proposals.set(key, { resolve, reject, deadlineMs: this.deadline() });
    });
  }

  /**
   * Resolves once this node's state machine reflects every write committed
   * before the call (ReadIndex: a heartbeat round confirms leadership, no
   * log write). Leader only; read the state machine right after it resolves.
   */
  linearizableRead(): Promise<void> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    if (this.role !== StateType.Leader) return Promise.reject(new NotLeaderError(this.leader));
    const seq = this.nextSequence();
    const key = seq;
    const ctx = frameProposal(this.incarnation, seq, new Uint8Array(0));
    return new Promise<void>((resolve, reject) => {
      this.reads.set(key, { resolve, reject, deadlineMs: this.deadline() });
      this.rawNode.readIndex(ctx);
      this.schedule();
    });
  }

  addPeer(id: NodeId): Promise<ConfState> {
    return this.proposeConfChange(ConfChangeTransition.Auto, [{ type: ConfChangeType.AddNode, nodeId: id }]);
  }

  addLearner(id: NodeId): Promise<ConfState> {
    return this.proposeConfChange(ConfChangeTransition.Auto, [{ type: ConfChangeType.AddLearnerNode, nodeId: id }]);
  }

  removePeer(id: NodeId): Promise<ConfState> {
    return this.proposeConfChange(ConfChangeTransition.Auto, [{ type: ConfChangeType.RemoveNode, nodeId: id }]);
  }

  /** Replaces `remove` by `add` through a joint configuration (left automatically); resolves when left. */
  changePeer(remove: NodeId, add: NodeId): Promise<ConfState> {
    return this.proposeConfChange(ConfChangeTransition.JointImplicit, [
      { type: ConfChangeType.AddNode, nodeId: add },
      { type: ConfChangeType.RemoveNode, nodeId: remove },
    ]);
  }

  /** Hands leadership to `to`; resolves when this node sees `to` as leader. */
  transferLeader(to: NodeId): Promise<void> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    if (this.leader === to) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.transfers.push({ to, waiter: { resolve, reject, deadlineMs: this.deadline() } });
      this.rawNode.transferLeader(to);
      this.schedule();
    });
  }

  /** Starts an election now (tests, and a freshly bootstrapped single-node group). */
  campaign(): void {
    this.checkUsable();
    this.rawNode.campaign();
    this.schedule();
  }

  onLeaderChange(listener: LeaderChangeListener): void {
    this.leaderListeners.push(listener);
  }

  isLeader(): boolean {
    return this.role === StateType.Leader;
  }

  leaderId(): NodeId | '' {
    return this.leader;
  }

  status(): RaftNodeStatus {
    const r = this.rawNode.raft;
    return {
      groupId: this.groupId,
      id: this.id,
      role: this.role,
      leader: this.leader,
      term: r.term,
      commitIndex: r.raftLog.committed,
      appliedIndex: this.applied,
      firstIndex: this.wal.firstIndex(),
      lastIndex: r.raftLog.lastIndex(),
      snapshotIndex: this.wal.snapshotMeta().index,
      confState: this.confState,
      snapshotsSent: this.snapshotsSent,
      snapshotsInstalled: this.snapshotsInstalled,
    };
  }

  /** Messages for this group from the transport. */
  step(messages: readonly Message[]): void {
    if (this.isStopped) return;
    for (const m of messages) this.rawNode.step(m);
    // Peers' messages come batched per transport batch (one step() per group): handle them as soon as
    // this batch is routed, not a loop turn later. A follower starts its write, and a leader acts on
    // the ack that commits, without waiting behind the rest of the poll phase.
    this.schedule(true);
  }

  reportUnreachable(peer: NodeId): void {
    if (this.isStopped) return;
    this.rawNode.reportUnreachable(peer);
  }

  /**
   * An InstallSnapshot stream for this group: stage the data durably, then
   * step the MsgSnap so the core installs it in a later Ready.
   */
  async receiveSnapshot(message: Message, chunks: AsyncIterable<SnapshotChunkIn>): Promise<SnapshotReceiveResult> {
    const meta = message.snapshot;
    assert(message.type === MessageType.MsgSnap && meta !== null, 'receiveSnapshot needs a MsgSnap');
    if (this.isStopped) return { accepted: false, receivedBytes: 0, error: 'node stopped' };
    if (meta.index <= this.rawNode.raft.raftLog.committed) {
      return { accepted: false, receivedBytes: 0, error: `stale snapshot ${meta.index} (committed ${this.rawNode.raft.raftLog.committed})` };
    }
    const receiver = await this.store.receive(meta);
    try {
      for await (const c of chunks) await receiver.write(c.offset, c.data);
    } catch (e) {
      await receiver.pause();
      throw e;
    }
    const info = await receiver.finish();
    if (!this.isStopped) {
      this.rawNode.step(message);
      this.schedule();
    }
    return { accepted: true, receivedBytes: info.dataBytes };
  }

  /** Stops ticking and the loop, rejects what is pending, closes the WAL. */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.unsubscribeTicker();
    this.unregisterMetrics();
    await this.loopIdle;
    await this.snapshotTask;
    this.rejectAll(new RaftUnavailableError(`raft ${this.groupId}: node stopped`));
    if (this.failure === undefined) await this.wal.close().catch(() => undefined);
  }

  walStats(): ReturnType<Wal['stats']> {
    return this.wal.stats();
  }

  // ---- internals ----

  /** Why requests cannot be taken now, if so (returned, so callers see rejections, never sync throws). */
  private unusable(): RaftUnavailableError | undefined {
    if (this.failure !== undefined) return new RaftUnavailableError(`raft ${this.groupId}: failed: ${String(this.failure)}`);
    if (this.isStopped) return new RaftUnavailableError(`raft ${this.groupId}: node stopped`);
    return undefined;
  }

  private checkUsable(): void {
    const e = this.unusable();
    if (e !== undefined) throw e;
  }

  private nextSequence(): number {
    this.sequence = (this.sequence + 1) >>> 0;
    return this.sequence;
  }

  private deadline(): number {
    return this.clock.nowMs() + (this.options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs);
  }

  private tick(): void {
    if (this.isStopped) return;
    this.rawNode.tick();
    // Sweep timeouts a few times per second, not per request (no timer per proposal).
    if (++this.tickCount % 5 === 0) this.expireRequests();
    this.schedule();
  }

  /**
   * Runs the Ready loop if it is idle and there is work: by default on the
   * next loop turn, so everything proposed in this turn joins the same Ready
   * (and fsync); `soon` runs it in a microtask, once the current callback
   * (e.g. routing one transport batch to every group) has returned.
   */
  private schedule(soon = false): void {
    if (this.isLoopRunning || this.isLoopScheduled || this.isStopped) return;
    if (!this.rawNode.hasReady()) return;
    this.isLoopScheduled = true;
    const run = (): void => {
      this.isLoopScheduled = false;
      this.loopIdle = this.runLoop();
    };
    if (soon) queueMicrotask(run);
    else setImmediate(run);
  }

  private async runLoop(): Promise<void> {
    if (this.isLoopRunning || this.isStopped) return;
    this.isLoopRunning = true;
    try {
      // Bounded per turn; the loop reschedules itself if more work remains.
      for (let round = 0; round < 64 && !this.isStopped && this.rawNode.hasReady(); round++) {
        await this.handleReady(this.rawNode.ready());
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.isLoopRunning = false;
    }
    this.schedule();
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState.raftState, rd.softState.lead);
    const isLeader = this.role === StateType.Leader;
    // A leader's Ready is advanced before its own write is durable (see module comment).
    const isAsync = isLeader && rd.snapshot === undefined && rd.mustSync;
    // Leader messages that may overlap the leader's own fsync (see module comment).
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) {
      const mayGoEarly = isLeader && (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat);
      (mayGoEarly && rd.snapshot === undefined ? early : late).push(m);
    }
    if (early.length > 0) this.sendMessages(early);

    // 1. persist (the write starts now; durability awaited below).
    let persisted: Promise<void> | undefined;
    if (rd.snapshot !== undefined) {
      await this.wal.saveSnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0 || rd.hardState !== undefined) {
      if (rd.mustSync) persisted = this.wal.append(rd.entries, rd.hardState);
      // Only the commit index changed: it rides the next fsync; a loss is recoverable.
      else this.wal.appendUnsynced(rd.entries, rd.hardState);
    }

    // 3a. entries committed before this Ready are durable here already: apply them during the fsync.
    const firstNew = rd.entries.length > 0 ? rd.entries[0]!.index : Infinity;
    let committed = rd.committedEntries;
    if (rd.snapshot === undefined) {
      let k = 0;
      while (k < committed.length && committed[k]!.index < firstNew) k++;
      if (k > 0) {
        await this.applyEntries(committed.slice(0, k));
        committed = committed.slice(k);
      }
    }
    if (isAsync && persisted !== undefined) {
      const last = rd.entries[rd.entries.length - 1];
      persisted.then(
        () => {
          if (this.isStopped) return;
          // 2. (async) send what the write promises, then count the leader's own copy.
          if (late.length > 0) this.sendMessages(late);
          if (last !== undefined) this.rawNode.appendDurable(last.index, last.term);
          this.schedule(true);
        },
        (e: unknown) => this.fail(e),
      );
    } else {
      if (persisted !== undefined) await persisted;
      // 2. send, now that what the messages promise is durable.
      if (late.length > 0) this.sendMessages(late);
    }

    // 3b. apply the snapshot, then the rest.
    if (rd.snapshot !== undefined) await this.installSnapshot(rd.snapshot);
    if (committed.length > 0) await this.applyEntries(committed);
    if (rd.readStates.length > 0) {
      for (const rs of rd.readStates) {
        if (rs.requestCtx.length !== PROPOSAL_HEADER_BYTES) continue;
        const frame = unframeProposal(rs.requestCtx);
        if (frame.incarnation === this.incarnation) this.readyReads.push({ index: rs.index, key: frame.sequence });
      }
    }
    this.releaseReads();

    // 4. advance.
    this.rawNode.advance(rd, !isAsync || persisted === undefined);
    this.maybeSnapshot();
  }

  private onSoftState(role: StateType, lead: NodeId | ''): void {
    const wasLeader = this.role === StateType.Leader;
    this.role = role;
    if (wasLeader && role !== StateType.Leader) {
      const e = new NotLeaderError(lead, `raft ${this.groupId}: lost leadership; outcome unknown`);
      for (const w of this.proposals.values()) w.reject(e);
      this.proposals.clear();
      for (const w of this.reads.values()) w.reject(e);
      this.reads.clear();
      this.readyReads = [];
    }
    if (lead !== this.leader) {
      this.leader = lead;
      for (const t of this.transfers.splice(0)) {
        if (t.to === lead) t.waiter.resolve();
        else this.transfers.push(t);
      }
      const term = this.rawNode.raft.term;
      for (const l of this.leaderListeners) l(lead, term);
    }
  }

  private sendMessages(messages: readonly Message[]): void {
    const batch: { groupId: GroupId; message: Message }[] = [];
    for (const m of messages) {
      if (m.type === MessageType.MsgSnap) this.sendSnapshot(m);
      else batch.push({ groupId: this.groupId, message: m });
    }
    if (batch.length > 0) this.transport.send(batch);
  }

  private sendSnapshot(m: Message): void {
    const to = m.to;
    if (this.snapshotsSending.has(to)) return;
    const cs = m.snapshot!.confState;
    if (!cs.voters.includes(to) && !cs.votersOutgoing.includes(to) && !cs.learners.includes(to)) {
      // A member added after the latest snapshot would refuse it (it is not
      // in its config): take a fresh one, which includes it; the core
      // retries with the new snapshot after this failure report.
      this.rawNode.reportSnapshot(to, false);
      this.startSnapshot();
      return;
    }
    const info = this.store.list().find((s) => s.meta.index === m.snapshot?.index && s.meta.term === m.snapshot.term);
    if (info === undefined) {
      this.rawNode.reportSnapshot(to, false);
      return;
    }
    this.snapshotsSending.add(to);
    this.transport
      .sendSnapshot(this.groupId, m, this.store.read(info))
      .then(
        () => {
          this.snapshotsSent++;
          if (!this.isStopped) this.rawNode.reportSnapshot(to, true);
        },
        () => !this.isStopped && this.rawNode.reportSnapshot(to, false),
      )
      .finally(() => {
        this.snapshotsSending.delete(to);
        this.schedule();
      });
  }

  private async installSnapshot(meta: SnapshotMeta): Promise<void> {
    const info = this.store.list().find((s) => s.meta.index === meta.index && s.meta.term === meta.term);
    assert(info !== undefined, `raft ${this.groupId}: snapshot ${meta.term}/${meta.index} was not staged`);
    await this.sm.restore(this.store.read(info), meta);
    this.applied = meta.index;
    this.confState = meta.confState;
    this.snapshotsInstalled++;
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    let run: Entry[] = [];
    let keys: number[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const results = await this.sm.apply(run);
      assert(results.length === run.length, `state machine returned ${results.length} results for ${run.length} entries`);
      for (let i = 0; i < keys.length; i++) {
        const w = this.proposals.get(keys[i]!);
        if (w !== undefined) {
          this.proposals.delete(keys[i]!);
          w.resolve(results[i]!);
        }
      }
      run = [];
      keys = [];
    };
    for (const e of entries) {
      if (e.type === EntryType.ConfChange) {
        await flush();
        this.applyConfChangeEntry(e);
      } else if (e.data.length > 0) {
        const { incarnation, sequence, payload } = unframeProposal(e.data);
        run.push({ term: e.term, index: e.index, type: e.type, data: payload });
        // Entries proposed by other nodes or an earlier instance of this one match no waiter.
        keys.push(incarnation === this.incarnation ? sequence : -1);
      }
      this.applied = e.index;
    }
    await flush();
    assert(entries.length === 0 || this.applied === entries[entries.length - 1]!.index, 'applied index drift');
  }

  private applyConfChangeEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    const outcome = this.rawNode.raft.applyConfChange(cc);
    this.confState = outcome.confState;
    const frame = cc.context.length === PROPOSAL_HEADER_BYTES ? unframeProposal(cc.context) : undefined;
    const key = frame !== undefined && frame.incarnation === this.incarnation ? frame.sequence : -1;
    const w = this.confChanges.get(key);
    if (w !== undefined) {
      this.confChanges.delete(key);
      if (outcome.refused !== undefined) w.reject(new RaftUnavailableError(`raft ${this.groupId}: conf change refused: ${outcome.refused}`));
      else if (this.confState.votersOutgoing.length > 0) this.awaitingLeaveJoint.push(w);
      else w.resolve(this.confState);
    }
    if (this.confState.votersOutgoing.length === 0) {
      for (const j of this.awaitingLeaveJoint.splice(0)) j.resolve(this.confState);
    }
  }

  private proposeConfChange(transition: ConfChangeTransition, changes: ConfChange['changes']): Promise<ConfState> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    if (this.role !== StateType.Leader) return Promise.reject(new NotLeaderError(this.leader));
    if (this.rawNode.raft.pendingConfIndex > this.applied || this.confState.votersOutgoing.length > 0) {
      // The core would turn this one into an empty entry: one change at a time.
      return Promise.reject(new RaftUnavailableError(`raft ${this.groupId}: a membership change is in progress`));
    }
    const seq = this.nextSequence();
    const key = seq;
    const cc: ConfChange = { transition, changes, context: frameProposal(this.incarnation, seq, new Uint8Array(0)) };
    const result = this.rawNode.proposeConfChange(cc);
    if (result !== 'ok') return Promise.reject(new RaftUnavailableError(`raft ${this.groupId}: conf change dropped (${result})`));
    this.schedule();
    return new Promise<ConfState>((resolve, reject) => {
      this.confChanges.set(key, { resolve, reject, deadlineMs: this.deadline() });
    });
  }

  private releaseReads(): void {
    if (this.readyReads.length === 0) return;
    const still: { index: number; key: number }[] = [];
    for (const r of this.readyReads) {
      if (r.index > this.applied) {
        still.push(r);
        continue;
      }
      const w = this.reads.get(r.key);
      if (w !== undefined) {
        this.reads.delete(r.key);
        w.resolve();
      }
    }
    this.readyReads = still;
  }

  private maybeSnapshot(): void {
    if (this.isSnapshotting || this.isStopped || this.applied === 0) return;
    const bytesMax = this.options.snapshotLogBytes ?? DEFAULTS.snapshotLogBytes;
    const entriesMax = this.options.snapshotLogEntries ?? DEFAULTS.snapshotLogEntries;
    if (this.wal.logDataBytes() < bytesMax && this.wal.logEntryCount() < entriesMax) return;
    this.startSnapshot();
  }

  /** Snapshots at the applied index in the background. Call only between applies. */
  private startSnapshot(): void {
    if (this.isSnapshotting || this.isStopped || this.applied <= this.wal.snapshotMeta().index) return;
    const meta: SnapshotMeta = { index: this.applied, term: this.wal.term(this.applied), confState: this.confState };
    // Captured now, between applies (StateMachine contract); written in the background.
    const image = this.sm.snapshot(meta);
    this.isSnapshotting = true;
    this.snapshotTask = this.store
      .save(meta, image)
      // A newer snapshot may have been installed from the leader meanwhile.
      .then(() => (meta.index > this.wal.snapshotMeta().index ? this.wal.saveSnapshot(meta) : undefined))
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.isSnapshotting = false;
      });
  }

  /** Forces a snapshot at the applied index now (admin and tests); resolves when durable. */
  async snapshotNow(): Promise<SnapshotMeta> {
    this.checkUsable();
    assert(!this.isSnapshotting, 'a snapshot is already being taken');
    assert(this.applied > this.wal.snapshotMeta().index, 'nothing applied since the last snapshot');
    const meta: SnapshotMeta = { index: this.applied, term: this.wal.term(this.applied), confState: this.confState };
    this.isSnapshotting = true;
    try {
      await this.store.save(meta, this.sm.snapshot(meta));
      if (meta.index > this.wal.snapshotMeta().index) await this.wal.saveSnapshot(meta);
    } finally {
      this.isSnapshotting = false;
    }
    return meta;
  }

  private expireRequests(): void {
    const now = this.clock.nowMs();
    const timeout = (what: string): RaftUnavailableError => new RaftUnavailableError(`raft ${this.groupId}: ${what} timed out`);
    for (const [k, w] of this.proposals) if (w.deadlineMs <= now) (this.proposals.delete(k), w.reject(timeout('proposal')));
    for (const [k, w] of this.reads) if (w.deadlineMs <= now) (this.reads.delete(k), w.reject(timeout('read')));
    for (const [k, w] of this.confChanges) if (w.deadlineMs <= now) (this.confChanges.delete(k), w.reject(timeout('conf change')));
    for (let i = this.transfers.length - 1; i >= 0; i--) {
      if (this.transfers[i]!.waiter.deadlineMs <= now) this.transfers.splice(i, 1)[0]!.waiter.reject(timeout('leader transfer'));
    }
  }

  private rejectAll(e: unknown): void {
    for (const w of this.proposals.values()) w.reject(e);
    this.proposals.clear();
    for (const w of this.reads.values()) w.reject(e);
    this.reads.clear();
    for (const w of this.confChanges.values()) w.reject(e);
    this.confChanges.clear();
    for (const w of this.awaitingLeaveJoint.splice(0)) w.reject(e);
    for (const t of this.transfers.splice(0)) t.waiter.reject(e);
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.isStopped = true;
    this.unsubscribeTicker();
    this.rejectAll(new RaftUnavailableError(`raft ${this.groupId}: fatal: ${String(e)}`));
    const onFatal =
      this.options.onFatal ??
      ((err: unknown) => {
        setImmediate(() => {
          throw err;
        });
      });
    onFatal(e);
  }
}
