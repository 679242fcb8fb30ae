/**
 * The deterministic Raft simulator (in the manner of TigerBeetle's VOPR).
 *
 * One seed fixes everything: the cluster size, the fault rates ("swarm"
 * options), and every choice of the schedule. N real RawNodes run over a
 * simulated disk (a MemoryStorage per node holding exactly what was
 * fsync'd), a SimNetwork (drop, delay, duplicate, reorder, partition) and a
 * SimClock. Nodes crash (losing everything not yet durable, sometimes in the
 * middle of a write, which keeps only a prefix of it) and restart from their
 * disk; the membership changes (learners, promotions, removals, joint
 * consensus); leadership is transferred. Concurrent clients drive a KV state
 * machine with writes through the log and reads through ReadIndex.
 *
 * After every step the SafetyChecker verifies election safety, log
 * matching, leader completeness and state machine safety. Then the
 * network heals, every node restarts, faults stop, and the cluster must
 * converge within a bound (liveness): a leader serves a fresh write that
 * every member applies, and every acknowledged write is applied everywhere.
 * Optionally the client history is checked for linearizability.
 */
import { assert } from '../../src/common/assert.js';
import { SeededRandom } from '../../src/common/random.js';
import { decodeConfChange } from '../../src/raft/core/codec.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { describeMessage, type Message, MessageType } from '../../src/raft/core/messages.js';
import { RawNode, type Ready } from '../../src/raft/core/raw-node.js';
import { contextKey, ReadOnlyOption } from '../../src/raft/core/read-only.js';
import {
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  StateType,
} from '../../src/raft/core/types.js';
import { decodeKvCommand, encodeKvCommand, type KvCommand, KvStateMachine } from './kv-state-machine.js';
import { checkKvHistory, type KvOperation } from './linearizability.js';
import { SafetyChecker, SafetyViolation } from './sim-checker.js';
import { type InFlight, type NetworkFaults, QUIET_NETWORK, SimClock, SimNetwork } from './sim-network.js';

export interface SimOptions {
  readonly seed: number;
  /** Raft ticks in the fault phase. */
  readonly ticks?: number;
  /** Raft ticks allowed for the heal-and-converge phase. */
  readonly convergeTicksMax?: number;
  readonly clients?: number;
  readonly checkLinearizability?: boolean;
  /** Search steps the linearizability checker may take (default 5 million); exhausting it fails the run. */
  readonly linearizabilityStepBudget?: number;
  /**
   * Deliberately broken driver behaviour, to show that the checkers catch
   * real bugs: 'local-reads' serves reads from the local state machine
   * without ReadIndex; 'forget-vote' does not persist the vote.
   */
  readonly bug?: 'local-reads' | 'forget-vote';
  /** Serve reads with the lease (ReadOnlyOption.LeaseBased; forces check-quorum on). */
  readonly leaseReads?: boolean;
  /** Receives a trace line per event (for replaying a seed). */
  readonly trace?: (line: string) => void;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly swarm: string;
  readonly stats: {
    ticks: number;
    leaders: number;
    crashes: number;
    tornWrites: number;
    partitions: number;
    confChanges: number;
    snapshotsSent: number;
    committed: number;
    writesAcked: number;
    readsAcked: number;
    historyOps: number;
    messages: number;
  };
}

/** Fault rates and Raft options drawn from the seed. */
interface Swarm {
  voters: number;
  spares: number;
  preVote: boolean;
  checkQuorum: boolean;
  faults: NetworkFaults;
  crashPerTick: number;
  /**
   * Chance per tick to crash a leader elected in the last few ticks: new
   * leaders dying while replicating entries of earlier terms is where the
   * commit rule of §5.4.2 (Figure 8) matters.
   */
  youngLeaderCrashPerTick: number;
  restartPerTick: number;
  tornWriteRate: number;
  partitionPerTick: number;
  healPerTick: number;
  confChangePerTick: number;
  transferPerTick: number;
  clientOpPerUnit: number;
  snapshotEvery: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  /** Leaders send MsgApp/MsgHeartbeat before persisting their own entries (§10.2.1). */
  leaderEarlySend: boolean;
  /** Leaders do not broadcast a commit index advance on its own (raft.ts Config.skipBcastCommit, as the node driver does). */
  skipBcastCommit: boolean;
  /**
   * With leaderEarlySend: a leader advances its Ready before its write is
   * durable (RawNode async leader append, as src/raft/node does); the write
   * lands some time units later, or a crash keeps a prefix of the writes.
   */
  leaderAsyncAppend: boolean;
}

const UNITS_PER_TICK = 4;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;
const CLIENT_TIMEOUT_UNITS = 25 * UNITS_PER_TICK;
const KEYS = ['x', 'y', 'z'];
const READY_LOOP_MAX = 64;

function pick<T>(r: SeededRandom, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

function drawSwarm(r: SeededRandom): Swarm {
  const voters = pick(r, [1, 3, 3, 3, 5, 5]);
  return {
    voters,
    spares: pick(r, [0, 1, 2]),
    preVote: r.chance(0.5),
    checkQuorum: r.chance(0.5),
    faults: {
      dropRate: pick(r, [0, 0.01, 0.05, 0.15, 0.3]),
      duplicateRate: pick(r, [0, 0.02, 0.1]),
      delayMin: 1,
      delayMax: pick(r, [2, 6, 12, 30]),
    },
    crashPerTick: pick(r, [0, 0.002, 0.01, 0.03]),
    youngLeaderCrashPerTick: pick(r, [0, 0, 0.1, 0.3]),
    restartPerTick: pick(r, [0.02, 0.1, 0.3]),
    tornWriteRate: pick(r, [0, 0.005, 0.02]),
    partitionPerTick: pick(r, [0, 0.005, 0.02]),
    healPerTick: pick(r, [0.02, 0.05, 0.2]),
    confChangePerTick: pick(r, [0, 0.02, 0.05]),
    transferPerTick: pick(r, [0, 0, 0.01]),
    clientOpPerUnit: pick(r, [0.05, 0.2, 0.5]),
    snapshotEvery: pick(r, [3, 10, 40, 1_000_000]),
    maxSizePerMsg: pick(r, [1, 200, 4096, 1 << 20]),
    maxInflightMsgs: pick(r, [1, 2, 8, 256]),
    maxInflightBytes: pick(r, [0, 0, 300]),
    leaderEarlySend: r.chance(0.5),
    // Drawn by the caller from its own stream, so older seeds replay unchanged.
    skipBcastCommit: false,
    leaderAsyncAppend: false,
  };
}

function describeSwarm(s: Swarm): string {
  return (
    `voters=${s.voters} spares=${s.spares} preVote=${s.preVote} checkQuorum=${s.checkQuorum} ` +
    `drop=${s.faults.dropRate} dup=${s.faults.duplicateRate} delay<=${s.faults.delayMax} ` +
    `crash=${s.crashPerTick} youngLeaderCrash=${s.youngLeaderCrashPerTick} torn=${s.tornWriteRate} partition=${s.partitionPerTick} conf=${s.confChangePerTick} ` +
    `transfer=${s.transferPerTick} earlySend=${s.leaderEarlySend} asyncAppend=${s.leaderAsyncAppend} skipBcastCommit=${s.skipBcastCommit} snapEvery=${s.snapshotEvery} maxMsg=${s.maxSizePerMsg} inflight=${s.maxInflightMsgs}/${s.maxInflightBytes}B`
  );
}

interface PendingOp {
  readonly client: number;
  readonly index: number; // position in history
}

/** A leader's write in flight (async leader append): lands in order, later. */
interface InflightWrite {
  readonly entries: readonly Entry[];
  readonly hardState: HardState | undefined;
  /** Term of the entry before the first one (for the log matching checker). */
  readonly prevTerm: number;
  /** The Ready's messages that wait for the write (all but MsgApp/MsgHeartbeat). */
  readonly messages: readonly Message[];
}

interface SimNode {
  readonly id: NodeId;
  readonly disk: MemoryStorage;
  readonly raftSeed: number;
  raw: RawNode | null;
  sm: KvStateMachine;
  confState: ConfState;
  /** Ticks happen when (now + phase) % UNITS_PER_TICK === 0: nodes are not in lockstep. */
  readonly phase: number;
  /**
   * Bounded clock drift: a slow node skips one tick in every `skipEvery`
   * (0 = exact). Kept within the lease margin (at most 1 in 20).
   */
  readonly skipEvery: number;
  tickBoundaries: number;
  /** Shut down for good (removed from the cluster). */
  stopped: boolean;
  /** Snapshot data received by MsgSnap, keyed "index:term", until installed. */
  readonly staged: Map<string, Uint8Array>;
  /** "client:seq" -> op waiting for its entry to apply here. */
  readonly pendingWrites: Map<string, PendingOp>;
  /** read ctx -> op and, once known, the read index. */
  readonly pendingReads: Map<string, PendingOp & { readIndex?: number }>;
  restarts: number;
  /** When this node last became leader (time units). */
  leaderSince: number;
  /** Writes handed out by async leader Readies, oldest first. */
  inflight: InflightWrite[];
}

interface SimClient {
  readonly id: number;
  seq: number;
  pending: { historyIndex: number; deadline: number; kind: 'write' | 'read'; cmd?: KvCommand; attempts: number } | null;
  leaderHint: NodeId | '';
}

/** A write is re-sent (same client and sequence: the state machine dedups) this many times before its outcome is left unknown. */
const WRITE_ATTEMPTS_MAX = 4;

interface MutableOp {
  client: number;
  kind: 'put' | 'append' | 'get';
  key: string;
  value: string;
  call: number;
  ret: number;
  /** false: dropped before it could take effect (removed from the history). */
  live: boolean;
  /** Log index where a write took effect, once acknowledged. */
  appliedIndex?: number;
}

export class RaftSimulation {
  private readonly random: SeededRandom;
  private readonly swarm: Swarm;
  private readonly clock = new SimClock();
  private readonly network: SimNetwork;
  private readonly checker = new SafetyChecker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: SimClient[] = [];
  private readonly history: MutableOp[] = [];
  /** Strictly increasing time for history events (call/return order). */
  private eventTime = 0;
  private readonly trace: ((line: string) => void) | undefined;
  private healing = false;
  private readonly asyncRandom: SeededRandom;
  /** The configuration after the highest-index conf change applied anywhere (committed). */
  private latestConf: ConfState = { voters: [], votersOutgoing: [], learners: [] };
  private latestConfIndex = 0;
  /** The client that proposes the liveness marker after healing. */
  private markerClient: SimClient | undefined;
  readonly stats: SimResult['stats'] = {
    ticks: 0,
    leaders: 0,
    crashes: 0,
    tornWrites: 0,
    partitions: 0,
    confChanges: 0,
    snapshotsSent: 0,
    committed: 0,
    writesAcked: 0,
    readsAcked: 0,
    historyOps: 0,
    messages: 0,
  };

  constructor(private readonly options: SimOptions) {
    this.random = new SeededRandom(options.seed);
    // skipBcastCommit comes from a stream of its own: the main stream (and so every older seed's run) is unchanged.
    // So do leaderAsyncAppend and the timing of async writes.
    this.asyncRandom = new SeededRandom(options.seed ^ 0xa5a5);
    this.swarm = {
      ...drawSwarm(this.random),
      skipBcastCommit: new SeededRandom(options.seed ^ 0x5bc7).chance(0.5),
      leaderAsyncAppend: this.asyncRandom.chance(0.5),
    };
    this.network = new SimNetwork(this.random, this.clock, this.swarm.faults);
    this.trace = options.trace;
    const voters: NodeId[] = [];
    for (let i = 1; i <= this.swarm.voters; i++) voters.push(`n${i}`);
    const all = [...voters];
    for (let i = 1; i <= this.swarm.spares; i++) all.push(`n${this.swarm.voters + i}`);
    for (const [i, id] of all.entries()) {
      // Initial members share a bootstrap snapshot at index 1; spares start
      // empty and get the config from the log or a snapshot when added.
      const initial = new KvStateMachine();
      initial.appliedIndex = 1;
      const disk = voters.includes(id)
        ? MemoryStorage.bootstrap({ voters, votersOutgoing: [], learners: [] }, initial.snapshot())
        : new MemoryStorage();
      const cs = disk.snapshotMeta().confState;
      const node: SimNode = {
        id,
        disk,
        raftSeed: (options.seed * 31 + i * 7919) >>> 0,
        raw: null,
        sm: new KvStateMachine(),
        confState: cs,
        phase: this.random.int(UNITS_PER_TICK),
        skipEvery: pick(this.random, [0, 0, 20, 50]),
        tickBoundaries: 0,
        stopped: false,
        staged: new Map(),
        pendingWrites: new Map(),
        pendingReads: new Map(),
        restarts: 0,
        leaderSince: 0,
        inflight: [],
      };
      this.nodes.set(id, node);
      this.start(node);
    }
    this.latestConf = { voters, votersOutgoing: [], learners: [] };
    for (let c = 1; c <= (options.clients ?? 3); c++) this.clients.push({ id: c, seq: 0, pending: null, leaderHint: '' });
  }

  get swarmDescription(): string {
    return describeSwarm(this.swarm);
  }

  private log(line: string): void {
    if (this.trace !== undefined) this.trace(`[${this.clock.now}] ${line}`);
  }

  // ---- node lifecycle ------------------------------------------------------------

  private start(node: SimNode): void {
    const snap = node.disk.snapshot();
    node.raw = new RawNode({
      id: node.id,
      storage: node.disk,
      random: new SeededRandom(node.raftSeed + node.restarts * 104729),
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      applied: snap.meta.index,
      preVote: this.swarm.preVote,
      checkQuorum: this.swarm.checkQuorum || this.options.leaseReads === true,
      readOnlyOption: this.options.leaseReads === true ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      maxSizePerMsg: this.swarm.maxSizePerMsg,
      maxInflightMsgs: this.swarm.maxInflightMsgs,
      maxInflightBytes: this.swarm.maxInflightBytes,
      skipBcastCommit: this.swarm.skipBcastCommit,
    });
    // The state machine comes back from the snapshot; later entries are re-applied.
    node.sm = KvStateMachine.restore(snap.data);
    node.sm.appliedIndex = snap.meta.index;
    node.confState = snap.meta.confState;
  }

  private crash(node: SimNode, why: string): void {
    assert(node.raw !== null, 'sim: crash of a node that is down');
    this.log(`crash ${node.id} (${why})`);
    // Writes in flight: any prefix may have reached the disk (the last one perhaps torn, entries before hard state).
    const landed = this.asyncRandom.int(node.inflight.length + 1);
    for (let k = 0; k < landed; k++) {
      const w = node.inflight[k]!;
      const isTorn = k === landed - 1 && this.asyncRandom.chance(0.3);
      const kept = isTorn ? w.entries.slice(0, this.asyncRandom.int(w.entries.length + 1)) : w.entries;
      this.checker.observeEntries(node.id, kept, w.prevTerm);
      node.disk.append(kept);
      if (!isTorn && w.hardState !== undefined) node.disk.setHardState(w.hardState);
    }
    node.inflight = [];
    node.raw = null;
    node.staged.clear();
    node.pendingWrites.clear();
    node.pendingReads.clear();
    node.restarts++;
    this.stats.crashes++;
  }

  private restart(node: SimNode): void {
    this.log(`restart ${node.id}`);
    this.start(node);
  }

  // ---- the Ready loop (the driver) ------------------------------------------------

  private processReady(node: SimNode): void {
    for (let i = 0; i < READY_LOOP_MAX && node.raw !== null && node.raw.hasReady(); i++) {
      this.handleReady(node, node.raw, node.raw.ready());
    }
  }

  private handleReady(node: SimNode, raw: RawNode, rd: Ready): void {
    if (rd.softState !== undefined) {
      this.log(`${node.id} soft lead=${rd.softState.lead} state=${StateType[rd.softState.raftState]}`);
      if (rd.softState.raftState === StateType.Leader) node.leaderSince = this.clock.now;
    }
    // Log matching is checked on what becomes durable: entries lost in a
    // torn write were never sent and never existed anywhere else.
    let prevTerm = 0;
    if (rd.entries.length > 0) {
      const t = raw.raft.raftLog.tryTerm(rd.entries[0]!.index - 1);
      assert(t !== undefined, 'sim: the term before unstable entries must be known');
      prevTerm = t;
    }
    const isLeader = raw.raft.state === StateType.Leader;
    const isAsync = this.swarm.leaderEarlySend && this.swarm.leaderAsyncAppend && isLeader && rd.snapshot === undefined && rd.mustSync;
    // A write that is awaited lands after every earlier one (one FIFO log, as the WAL).
    if (!isAsync) this.landInflight(node, raw, node.inflight.length);
    // 0. Raft thesis §10.2.1 (as src/raft/node does): a leader may send its
    //    MsgApp/MsgHeartbeat before its own write is durable; the rest waits.
    let toSend = rd.messages;
    if (this.swarm.leaderEarlySend && isLeader && rd.snapshot === undefined) {
      const early = rd.messages.filter((m) => m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat);
      toSend = rd.messages.filter((m) => m.type !== MessageType.MsgApp && m.type !== MessageType.MsgHeartbeat);
      for (const m of early) {
        this.stats.messages++;
        this.network.send(m);
      }
    }
    if (isAsync) {
      // 1-2. (async) the write and the messages that wait for it land later (landInflight); a crash keeps a prefix.
      node.inflight.push({ entries: rd.entries, hardState: rd.hardState, prevTerm, messages: toSend });
      this.applyReady(node, raw, rd, false);
      return;
    }
    // 1. Persist. A crash in the middle keeps a prefix: the snapshot maybe,
    //    some entries, never the hard state (it is written last).
    if (!this.healing && rd.entries.length + (rd.snapshot === undefined ? 0 : 1) > 0 && this.random.chance(this.swarm.tornWriteRate)) {
      let snapshotKept = rd.snapshot === undefined;
      if (rd.snapshot !== undefined && this.random.chance(0.5)) {
        this.installSnapshotOnDisk(node, rd);
        snapshotKept = true;
      }
      if (snapshotKept) {
        const kept = rd.entries.slice(0, this.random.int(rd.entries.length + 1));
        this.checker.observeEntries(node.id, kept, prevTerm);
        node.disk.append(kept);
      }
      this.stats.tornWrites++;
      this.crash(node, 'torn write');
      return;
    }
    if (rd.snapshot !== undefined) this.installSnapshotOnDisk(node, rd);
    this.checker.observeEntries(node.id, rd.entries, prevTerm);
    node.disk.append(rd.entries);
    if (rd.hardState !== undefined) {
      node.disk.setHardState(this.options.bug === 'forget-vote' ? { ...rd.hardState, vote: '' } : rd.hardState);
    }

    // 2. Send, now that the state is durable.
    this.sendDurable(node, raw, toSend);
    this.applyReady(node, raw, rd, true);
  }

  /** Lands the oldest `count` writes in flight: on disk, their messages sent, the core told. */
  private landInflight(node: SimNode, raw: RawNode, count: number): void {
    for (let k = 0; k < count && node.inflight.length > 0; k++) {
      const w = node.inflight.shift()!;
      this.checker.observeEntries(node.id, w.entries, w.prevTerm);
      node.disk.append(w.entries);
      if (w.hardState !== undefined) {
        node.disk.setHardState(this.options.bug === 'forget-vote' ? { ...w.hardState, vote: '' } : w.hardState);
      }
      this.sendDurable(node, raw, w.messages);
      const last = w.entries[w.entries.length - 1];
      if (last !== undefined) raw.appendDurable(last.index, last.term);
    }
  }

  private sendDurable(node: SimNode, raw: RawNode, toSend: readonly Message[]): void {
    for (const m of toSend) {
      this.stats.messages++;
      if (m.type === MessageType.MsgSnap) {
        let snap = node.disk.snapshot();
        // The stored snapshot only moves forward (it may be newer than m's, made for another peer).
        assert(m.snapshot !== null && snap.meta.index >= m.snapshot.index, 'sim: MsgSnap must refer to a stored snapshot');
        const cs = snap.meta.confState;
        const inSnapshot = [...cs.voters, ...cs.votersOutgoing, ...cs.learners].includes(m.to);
        if ((!inSnapshot || this.random.chance(0.3)) && node.sm.appliedIndex > snap.meta.index) {
          // As etcd's server does: send a fresh snapshot of the applied state,
          // e.g. when the stored one predates the peer joining.
          snap = node.disk.createSnapshot(node.sm.appliedIndex, node.confState, node.sm.snapshot());
          this.log(`${node.id} fresh snapshot at ${snap.meta.index} for ${m.to}`);
        }
        this.stats.snapshotsSent++;
        const out = { ...m, snapshot: snap.meta };
        if (this.network.send(out, snap.data) === 'dropped') raw.reportSnapshot(m.to, false);
      } else {
        this.network.send(m);
      }
    }
  }

  private applyReady(node: SimNode, raw: RawNode, rd: Ready, isDurable: boolean): void {
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      node.sm = KvStateMachine.restore(node.disk.snapshot().data);
      assert(node.sm.appliedIndex === rd.snapshot.index, 'sim: snapshot data and metadata disagree');
      node.confState = rd.snapshot.confState;
      this.failPendingBelow(node);
    }
    for (const e of rd.committedEntries) {
      this.checker.observeApply(node.id, raw.raft.term, e);
      this.stats.committed = Math.max(this.stats.committed, e.index);
      if (e.type === EntryType.ConfChange) {
        node.confState = raw.applyConfChange(decodeConfChange(e.data));
        if (e.index > this.latestConfIndex) {
          this.latestConfIndex = e.index;
          this.latestConf = node.confState;
        }
        this.log(`${node.id} applied conf ${e.index}: ${JSON.stringify(node.confState)}`);
        node.sm.skip(e.index);
      } else if (e.data.byteLength === 0) {
        node.sm.skip(e.index);
      } else {
        const cmd = decodeKvCommand(e.data);
        // A duplicate of the client's latest command (a retry) is acknowledged too: it took effect earlier.
        if (node.sm.apply(e.index, cmd) || node.sm.sessions.get(cmd.client) === cmd.seq) this.ackWrite(node, cmd, e.index);
      }
    }
    for (const rs of rd.readStates) {
      const p = node.pendingReads.get(contextKey(rs.requestCtx));
      if (p !== undefined && p.readIndex === undefined) p.readIndex = rs.index;
    }
    this.serveReads(node);
    raw.advance(rd, isDurable);

    // Compaction: snapshot the state machine and drop the log behind it.
    const applied = node.sm.appliedIndex;
    const snapIndex = node.disk.snapshotMeta().index;
    if (applied - snapIndex >= this.swarm.snapshotEvery && applied <= node.disk.lastIndex()) {
      // The snapshot's marker lands after the writes in flight (one FIFO log, as the WAL).
      this.landInflight(node, raw, node.inflight.length);
      // Landing sends their messages: a MsgSnap may have taken a fresh snapshot at `applied` already.
      const current = node.disk.snapshotMeta().index;
      if (applied > current) {
        node.disk.createSnapshot(applied, node.confState, node.sm.snapshot());
        const keep = this.random.int(4);
        if (applied - keep > current) node.disk.compact(applied - keep);
        this.log(`${node.id} snapshot at ${applied}`);
      }
    }
  }

  private installSnapshotOnDisk(node: SimNode, rd: Ready): void {
    const meta = rd.snapshot!;
    const key = `${meta.index}:${meta.term}`;
    const data = node.staged.get(key);
    assert(data !== undefined, `sim: no staged data for snapshot ${key}`);
    node.disk.applySnapshot({ meta, data });
    node.staged.clear();
  }

  /** After a snapshot jumps the state machine forward, writes it skipped cannot be acknowledged here. */
  private failPendingBelow(node: SimNode): void {
    node.pendingWrites.clear();
  }

  private ackWrite(node: SimNode, cmd: KvCommand, index: number): void {
    const key = `${cmd.client}:${cmd.seq}`;
    const p = node.pendingWrites.get(key);
    if (p === undefined) return;
    node.pendingWrites.delete(key);
    const client = this.clientById(p.client);
    if (client === undefined || client.pending === null || client.pending.historyIndex !== p.index) return;
    const op = this.history[p.index]!;
    op.ret = ++this.eventTime;
    op.appliedIndex = index;
    client.pending = null;
    client.leaderHint = node.raw?.raft.lead ?? '';
    this.stats.writesAcked++;
  }

  private serveReads(node: SimNode): void {
    for (const [ctx, p] of node.pendingReads) {
      if (p.readIndex === undefined || node.sm.appliedIndex < p.readIndex) continue;
      node.pendingReads.delete(ctx);
      const client = this.clientById(p.client)!;
      if (client.pending === null || client.pending.historyIndex !== p.index) continue;
      const op = this.history[p.index]!;
      op.value = node.sm.get(op.key);
      op.ret = ++this.eventTime;
      client.pending = null;
      this.stats.readsAcked++;
    }
  }

  // ---- clients ---------------------------------------------------------------------

  private clientById(id: number): SimClient | undefined {
    if (this.markerClient !== undefined && this.markerClient.id === id) return this.markerClient;
    return this.clients[id - 1];
  }

  private chooseNode(client: SimClient): SimNode | undefined {
    const hinted = client.leaderHint === '' ? undefined : this.nodes.get(client.leaderHint);
    if (hinted !== undefined && hinted.raw !== null && !hinted.stopped && this.random.chance(0.8)) return hinted;
    // Clients know the members; a node that knows a leader is a better bet.
    const up = [...this.nodes.values()].filter((n) => n.raw !== null && !n.stopped && n.raw.raft.trk.progress.has(n.id));
    const led = up.filter((n) => n.raw!.raft.lead !== '');
    if (led.length > 0 && this.random.chance(0.9)) return pick(this.random, led);
    return up.length === 0 ? undefined : pick(this.random, up);
  }

  private clientStep(client: SimClient): void {
    if (client.pending !== null) {
      if (this.clock.now < client.pending.deadline) return;
      const p = client.pending;
      client.leaderHint = '';
      if (p.kind === 'write' && p.attempts < WRITE_ATTEMPTS_MAX) {
        // Retry the same command elsewhere, as a real client does; the
        // session dedup makes it take effect at most once.
        this.retryWrite(client);
        return;
      }
      // Gave up: a write's outcome stays unknown, a read is simply dropped.
      const op = this.history[p.historyIndex]!;
      if (p.kind === 'read') op.live = false;
      client.pending = null;
      return;
    }
    if (!this.random.chance(this.swarm.clientOpPerUnit)) return;
    const node = this.chooseNode(client);
    if (node === undefined) return;
    const raw = node.raw!;
    client.seq++;
    const key = pick(this.random, KEYS);
    // While converging only reads are issued: a slow configuration (one entry
    // per message, one in flight) may replicate slower than clients write.
    const isRead = this.healing || this.random.chance(0.4);
    const historyIndex = this.history.length;
    if (isRead && this.options.bug === 'local-reads') {
      this.history.push({ client: client.id, kind: 'get', key, value: node.sm.get(key), call: ++this.eventTime, ret: ++this.eventTime, live: true });
      return;
    }
    if (isRead) {
      const ctx = new TextEncoder().encode(`r${client.id}:${client.seq}`);
      this.history.push({ client: client.id, kind: 'get', key, value: '', call: ++this.eventTime, ret: Infinity, live: true });
      node.pendingReads.set(contextKey(ctx), { client: client.id, index: historyIndex });
      client.pending = { historyIndex, deadline: this.clock.now + CLIENT_TIMEOUT_UNITS, kind: 'read', attempts: 1 };
      raw.readIndex(ctx);
      return;
    }
    const kind = this.random.chance(0.5) ? 'put' : 'append';
    const value = `${client.id}.${client.seq};`;
    const cmd: KvCommand = { op: kind, client: client.id, seq: client.seq, key, value };
    this.history.push({ client: client.id, kind, key, value, call: ++this.eventTime, ret: Infinity, live: true });
    if (raw.propose(encodeKvCommand(cmd)) === 'proposal-dropped') {
      // Refused synchronously: it never entered any log.
      this.history[historyIndex]!.live = false;
      client.leaderHint = raw.raft.lead;
      return;
    }
    node.pendingWrites.set(`${client.id}:${client.seq}`, { client: client.id, index: historyIndex });
    client.pending = { historyIndex, deadline: this.clock.now + CLIENT_TIMEOUT_UNITS, kind: 'write', cmd, attempts: 1 };
  }

  private retryWrite(client: SimClient): void {
    const p = client.pending!;
    p.attempts++;
    p.deadline = this.clock.now + CLIENT_TIMEOUT_UNITS;
    const node = this.chooseNode(client);
    if (node === undefined) return;
    const cmd = p.cmd!;
    // A synchronous drop on a retry proves nothing about earlier attempts: just wait and retry.
    if (node.raw!.propose(encodeKvCommand(cmd)) === 'proposal-dropped') return;
    node.pendingWrites.set(`${cmd.client}:${cmd.seq}`, { client: client.id, index: p.historyIndex });
  }

  // ---- faults and operator actions --------------------------------------------------

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.raw === null || n.stopped || n.raw.raft.state !== StateType.Leader) continue;
      if (best === undefined || n.raw.raft.term > best.raw!.raft.term) best = n;
    }
    return best;
  }

  private faultStep(): void {
    const s = this.swarm;
    const r = this.random;
    const running = [...this.nodes.values()].filter((n) => n.raw !== null && !n.stopped);
    if (running.length > 0 && r.chance(s.crashPerTick)) this.crash(pick(r, running), 'scheduled');
    for (const n of running) {
      if (n.raw === null || n.raw.raft.state !== StateType.Leader) continue;
      if (this.clock.now - n.leaderSince > 3 * UNITS_PER_TICK) continue;
      if (r.chance(s.youngLeaderCrashPerTick)) this.crash(n, 'young leader');
    }
    for (const n of this.nodes.values()) if (n.raw === null && !n.stopped && r.chance(s.restartPerTick)) this.restart(n);
    if (!this.network.isPartitioned() && r.chance(s.partitionPerTick)) {
      const groups = new Map<NodeId, number>();
      const k = 2 + r.int(2);
      for (const id of this.nodes.keys()) groups.set(id, r.int(k));
      this.network.partition(groups);
      this.stats.partitions++;
      this.log(`partition ${JSON.stringify([...groups])}`);
    } else if (this.network.isPartitioned() && r.chance(s.healPerTick)) {
      this.network.heal();
      this.log('heal network');
    }
    if (r.chance(s.confChangePerTick)) this.proposeConfChange();
    this.handOffIfRemoved(0.2);
    if (r.chance(s.transferPerTick)) {
      const leader = this.leaderNode();
      if (leader !== undefined) {
        const voters = leader.raw!.raft.trk.voterIds().filter((id) => id !== leader.id);
        if (voters.length > 0) {
          const to = pick(r, voters);
          this.log(`transfer leadership ${leader.id} -> ${to}`);
          leader.raw!.transferLeader(to);
        }
      }
    }
  }

  /** A leader that applied its own removal hands leadership to a member (as an operator would). */
  private handOffIfRemoved(probability: number): void {
    const leader = this.leaderNode();
    if (leader === undefined) return;
    const raft = leader.raw!.raft;
    // Removed, demoted, or only in the outgoing half of a joint config (the
    // core will not let it leave the joint config itself).
    const self = raft.trk.progress.get(leader.id);
    if (self !== undefined && !self.isLearner && raft.trk.config.incoming.has(leader.id)) return;
    if (!this.random.chance(probability)) return;
    const voters = [...raft.trk.config.incoming].filter((id) => id !== leader.id).sort();
    if (voters.length === 0) return;
    const to = pick(this.random, voters);
    this.log(`removed leader ${leader.id} transfers to ${to}`);
    leader.raw!.transferLeader(to);
  }

  private proposeConfChange(): void {
    const leader = this.leaderNode();
    if (leader === undefined) return;
    const r = this.random;
    const cs = leader.raw!.raft.trk.confState();
    const all = [...this.nodes.keys()];
    const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...(cs.learnersNext ?? [])]);
    const spares = all.filter((id) => !members.has(id));
    // The core refuses a leader removing itself; mostly ask for changes it accepts.
    const others = cs.voters.filter((id) => id !== leader.id || r.chance(0.1));
    const empty = new Uint8Array(0);
    let cc: ConfChange | undefined;
    if (cs.votersOutgoing.length > 0) {
      cc = { transition: ConfChangeTransition.Auto, changes: [], context: empty };
    } else {
      const choice = r.int(5);
      if (choice === 0 && spares.length > 0) {
        cc = { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: pick(r, spares) }], context: empty };
      } else if (choice === 1 && cs.learners.length > 0) {
        cc = { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddNode, nodeId: pick(r, cs.learners) }], context: empty };
      } else if (choice === 2 && cs.voters.length > 2 && others.length > 0) {
        cc = { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.RemoveNode, nodeId: pick(r, others) }], context: empty };
      } else if (choice === 3 && (spares.length > 0 || cs.learners.length > 0) && others.length > 0) {
        // Replace a voter through a joint config (Raft §6).
        const incoming = pick(r, [...spares, ...cs.learners]);
        const outgoing = pick(r, others);
        cc = {
          transition: r.chance(0.5) ? ConfChangeTransition.JointImplicit : ConfChangeTransition.JointExplicit,
          changes: [
            { type: ConfChangeType.AddNode, nodeId: incoming },
            { type: r.chance(0.5) ? ConfChangeType.RemoveNode : ConfChangeType.AddLearnerNode, nodeId: outgoing },
          ],
          context: empty,
        };
      } else if (choice === 4 && cs.learners.length > 0) {
        cc = { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.RemoveNode, nodeId: pick(r, cs.learners) }], context: empty };
      }
    }
    if (cc === undefined) return;
    this.stats.confChanges++;
    this.log(`propose conf change at ${leader.id}: ${JSON.stringify(cc.changes)} transition=${cc.transition}`);
    leader.raw!.proposeConfChange(cc);
  }

  // ---- the main loop -----------------------------------------------------------------

  private deliver(f: InFlight): void {
    const target = this.nodes.get(f.msg.to);
    const sender = this.nodes.get(f.msg.from);
    if (target === undefined || target.raw === null || target.stopped) {
      this.lost(f);
      return;
    }
    if (this.trace !== undefined) this.log(`deliver ${describeMessage(f.msg)}`);
    if (f.msg.type === MessageType.MsgSnap) {
      // The whole stream arrived: stage the data, then hand Raft the message.
      target.staged.set(`${f.msg.snapshot!.index}:${f.msg.snapshot!.term}`, f.snapshotData!);
    }
    target.raw.step(f.msg);
    if (f.msg.type === MessageType.MsgSnap && sender?.raw != null) sender.raw.reportSnapshot(f.msg.to, true);
  }

  private lost(f: InFlight): void {
    if (f.msg.type !== MessageType.MsgSnap) return;
    const sender = this.nodes.get(f.msg.from);
    if (sender?.raw != null) sender.raw.reportSnapshot(f.msg.to, false);
  }

  /** One time unit: faults, ticks, deliveries, clients, Readys, then the safety checks. */
  private step(): void {
    const isTickBoundary = (n: SimNode): boolean => (this.clock.now + n.phase) % UNITS_PER_TICK === 0;
    if (!this.healing && this.clock.now % UNITS_PER_TICK === 0) this.faultStep();
    for (const n of this.nodes.values()) {
      if (n.raw === null || n.stopped || !isTickBoundary(n)) continue;
      n.tickBoundaries++;
      if (n.skipEvery > 0 && n.tickBoundaries % n.skipEvery === 0) continue;
      n.raw.tick();
    }
    const { deliver, lost } = this.network.due();
    for (const f of lost) this.lost(f);
    for (const f of deliver) this.deliver(f);
    for (const c of this.clients) this.clientStep(c);
    // Async leader writes land after a random delay (in order).
    for (const n of this.nodes.values()) {
      if (n.raw !== null && !n.stopped && n.inflight.length > 0 && this.asyncRandom.chance(0.4)) this.landInflight(n, n.raw, 1);
    }
    for (const n of this.nodes.values()) if (n.raw !== null && !n.stopped) this.processReady(n);
    this.checkStep();
    this.clock.advance();
  }

  private checkStep(): void {
    const leaders = [];
    for (const n of this.nodes.values()) {
      if (n.raw === null || n.stopped) continue;
      const r = n.raw.raft;
      if (r.state === StateType.Leader) leaders.push({ id: n.id, term: r.term, log: r.raftLog });
    }
    this.checker.observeLeaders(leaders);
  }

  run(): SimResult {
    const result = (ok: boolean, failure?: string): SimResult => {
      this.stats.leaders = this.checker.leaderCount;
      this.stats.historyOps = this.history.filter((o) => o.live).length;
      return { seed: this.options.seed, ok, swarm: this.swarmDescription, stats: this.stats, ...(failure === undefined ? {} : { failure }) };
    };
    try {
      const ticks = this.options.ticks ?? 200;
      for (let u = 0; u < ticks * UNITS_PER_TICK; u++) this.step();
      this.stats.ticks = ticks;
      const liveness = this.converge();
      if (liveness !== null) return result(false, `liveness: ${liveness}`);
      if (this.options.checkLinearizability === true) {
        const ops: KvOperation[] = this.history
          .filter((o) => o.live && !(o.kind === 'get' && o.ret === Infinity))
          .map((o) => ({ client: o.client, kind: o.kind, key: o.key, value: o.value, call: o.call, ret: o.ret }));
        const lin = checkKvHistory(ops, this.options.linearizabilityStepBudget);
        if (!lin.ok) {
          return result(false, `linearizability: history of key ${lin.badKey} is not linearizable${lin.exhausted ? ' (search budget exhausted)' : ''}`);
        }
      }
      return result(true);
    } catch (err) {
      if (err instanceof SafetyViolation) return result(false, err.message);
      const e = err as Error;
      return result(false, `exception: ${e.stack ?? e.message}`);
    }
  }

  /**
   * Heal and converge: no more faults, everyone restarts, removed nodes are
   * shut down, and the cluster must serve a fresh write on every member.
   * Returns a description of what did not converge, or null.
   */
  private converge(): string | null {
    this.healing = true;
    this.network.heal();
    this.network.faults = QUIET_NETWORK;
    for (const n of this.nodes.values()) if (n.raw === null && !n.stopped) this.restart(n);
    // The bound grows with the replication backlog at heal time (a member may
    // be thousands of entries behind with one entry per message).
    let lastIndexMax = 0;
    let appliedMin = Number.MAX_SAFE_INTEGER;
    for (const n of this.nodes.values()) {
      if (n.raw === null) continue;
      lastIndexMax = Math.max(lastIndexMax, n.raw.raft.raftLog.lastIndex());
      appliedMin = Math.min(appliedMin, n.sm.appliedIndex);
    }
    const backlog = Math.max(0, lastIndexMax - appliedMin);
    const maxUnits = ((this.options.convergeTicksMax ?? 400) + 2 * backlog) * UNITS_PER_TICK;
    const markerClient: SimClient = { id: this.clients.length + 1, seq: 0, pending: null, leaderHint: '' };
    this.markerClient = markerClient;
    let markerIndex: number | undefined;
    let markerDeadline = 0;
    for (let u = 0; u < maxUnits; u++) {
      this.runLatestMembers();
      this.step();
      const leader = this.leaderNode();
      if (leader === undefined) continue;
      const raft = leader.raw!.raft;
      const cs = raft.trk.confState();
      const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...(cs.learnersNext ?? [])]);
      if (u % UNITS_PER_TICK === 0) this.handOffIfRemoved(0.5);
      const markerOp = markerIndex === undefined ? undefined : this.history[markerIndex]!;
      if (markerOp === undefined || (markerOp.appliedIndex === undefined && this.clock.now > markerDeadline)) {
        // Propose a (new) marker through the current leader.
        markerClient.seq++;
        const historyIndex = this.history.length;
        const cmd: KvCommand = { op: 'marker', client: markerClient.id, seq: markerClient.seq, key: 'marker', value: 'm' };
        this.history.push({ client: markerClient.id, kind: 'put', key: 'marker', value: 'm', call: ++this.eventTime, ret: Infinity, live: true });
        if (leader.raw!.propose(encodeKvCommand(cmd)) === 'proposal-dropped') {
          this.history[historyIndex]!.live = false;
          continue;
        }
        leader.pendingWrites.set(`${markerClient.id}:${markerClient.seq}`, { client: markerClient.id, index: historyIndex });
        markerClient.pending = { historyIndex, deadline: Number.MAX_SAFE_INTEGER, kind: 'write', attempts: WRITE_ATTEMPTS_MAX };
        markerIndex = historyIndex;
        markerDeadline = this.clock.now + 60 * UNITS_PER_TICK;
        continue;
      }
      if (markerOp.appliedIndex === undefined) continue;
      const need = Math.max(markerOp.appliedIndex, this.maxAckedIndex());
      let all = true;
      for (const id of members) {
        const n = this.nodes.get(id)!;
        if (n.raw === null || n.stopped || n.sm.appliedIndex < need) {
          all = false;
          break;
        }
      }
      if (all) return null;
    }
    const states = [...this.nodes.values()].map(
      (n) =>
        `${n.id}:${n.stopped ? 'stopped' : n.raw === null ? 'down' : `${StateType[n.raw.raft.state]} t${n.raw.raft.term} applied=${n.sm.appliedIndex} commit=${n.raw.raft.raftLog.committed} last=${n.raw.raft.raftLog.lastIndex()}`}`,
    );
    return `no convergence within ${maxUnits / UNITS_PER_TICK} ticks after healing (marker ${markerIndex === undefined ? 'not proposed' : 'pending'}; ${states.join(', ')})`;
  }

  /**
   * The operator's view after healing: exactly the members of the latest
   * committed configuration run. Removed nodes that never learned of their
   * removal would otherwise keep campaigning in their old configuration
   * (Raft §6's disruptive servers) and inflate the terms of members.
   */
  private runLatestMembers(): void {
    const cs = this.latestConf;
    const members = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...(cs.learnersNext ?? [])]);
    // Stopping a removed node is safe only once every member applied the
    // change: a lagging member still uses the old config and may need the
    // removed node's vote (the simulator found that stopping a node as soon
    // as it applied its own removal can leave the cluster without a quorum).
    let allApplied = true;
    for (const id of members) {
      const n = this.nodes.get(id)!;
      if (n.raw === null || n.sm.appliedIndex < this.latestConfIndex) allApplied = false;
    }
    for (const n of this.nodes.values()) {
      if (!members.has(n.id) && !n.stopped && allApplied) {
        this.log(`stop removed node ${n.id}`);
        n.stopped = true;
        n.raw = null;
      } else if (members.has(n.id) && n.stopped) {
        this.log(`start member ${n.id}`);
        n.stopped = false;
        this.restart(n);
      }
    }
  }

  private maxAckedIndex(): number {
    let m = 0;
    for (const o of this.history) if (o.appliedIndex !== undefined && o.appliedIndex > m) m = o.appliedIndex;
    return m;
  }

  get historyForCheck(): KvOperation[] {
    return this.history
      .filter((o) => o.live && !(o.kind === 'get' && o.ret === Infinity))
      .map((o) => ({ client: o.client, kind: o.kind, key: o.key, value: o.value, call: o.call, ret: o.ret }));
  }
}

export function runSimulation(options: SimOptions): SimResult {
  return new RaftSimulation(options).run();
}
