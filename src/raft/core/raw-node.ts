/**
 * RawNode: the synchronous API of the Raft core (etcd's rawnode.go).
 *
 * The driver owns the disk, the network and the clock. It calls `tick()` on
 * a timer, `step(msg)` for every message received, `propose*()` /
 * `readIndex()` / `transferLeader()` for client requests, and then drains
 * work through the Ready contract:
 *
 *   while (node.hasReady()) {
 *     const rd = node.ready();
 *     // 1. PERSIST, durably (fsync), in this order: rd.snapshot (if any, with
 *     //    its state machine data), rd.entries (appended; an entry at an
 *     //    existing index replaces it and everything after it), then
 *     //    rd.hardState. Entries may be fsync'd together with the hard state;
 *     //    a torn write must lose a suffix only (entries before hard state).
 *     //    If rd.mustSync is false the write need not be fsync'd (only the
 *     //    commit index changed, which can be recovered).
 *     // 2. SEND rd.messages, only AFTER step 1 is durable. A vote, a vote
 *     //    response or an append acknowledgement promises state that must
 *     //    survive a crash (etcd doc.go: "send nothing until the state it
 *     //    depends on is durable"). MsgSnap carries only SnapshotMeta: the
 *     //    driver streams the snapshot's data to the peer out of band (in
 *     //    chunks) and steps MsgSnap into the receiver only once all of the
 *     //    data is staged there; then it reports the outcome back to the
 *     //    leader with reportSnapshot(peer, ok). The driver may substitute a
 *     //    NEWER snapshot of its applied state (as etcd's server does), and
 *     //    must when the stored one predates the peer's membership: a node
 *     //    refuses a snapshot whose config does not include it.
 *     //    Leader exception (Raft thesis §10.2.1): a LEADER's MsgApp and
 *     //    MsgHeartbeat may leave before its own write is durable. The core
 *     //    counts the leader's own copy toward commitment only once advance()
 *     //    reports it durable, so no commit index it sends depends on the
 *     //    leader's unpersisted entries. The simulator runs this mode too.
 *     // 3. APPLY rd.snapshot (restore the state machine from the staged data)
 *     //    then rd.committedEntries in order. For an EntryType.ConfChange
 *     //    entry call applyConfChange(decodeConfChange(e.data)). Answer
 *     //    rd.readStates once the state machine has applied readState.index.
 *     // 4. node.advance(rd).
 *   }
 *
 * Async leader append (etcd's async storage writes, for a leader only): a
 * leader's Ready without a snapshot may be advanced before its write is
 * durable, with `advance(rd, false)`; its non-MsgApp/MsgHeartbeat messages
 * then wait for that write. The driver calls `appendDurable(index, term)`
 * (the Ready's last entry) once it is. Until then the leader does not count
 * its own copy, so an entry commits on the followers' durable acks alone
 * (with 3 voters: both followers) or once the leader's write lands, whichever
 * is first; committed entries may be applied meanwhile. Writes must become
 * durable in the order they were handed out (one FIFO log).
 *
 * Between ready() and advance(rd), the driver may still call step/tick/
 * propose, but must not call ready() again. Nothing here blocks or reads a
 * clock; election jitter comes from the injected Random.
 */
import { assert } from '../../common/assert.js';
import { encodeConfChange } from './codec.js';
import { isLocalMessage, isResponseMessage, makeMessage, type Message, MessageType } from './messages.js';
import type { ProgressState } from './progress.js';
import { Raft, type RaftConfig, type StepResult } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,

  type HardState,
  hardStateEqual,
  isEmptyHardState,
  type NodeId,
  type ReadState,
  type SnapshotMeta,
  type SoftState,
  StateType,
} from './types.js';

export interface Ready {
  /** Set when the leader or role changed; not persisted. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed: persist it (after entries). */
  readonly hardState?: HardState;
  /** Entries to append to stable storage before sending messages. */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and install (metadata; data arrives out of band). */
  readonly snapshot?: SnapshotMeta;
  /** Committed entries to apply to the state machine, in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send, only after entries/hardState/snapshot are durable. */
  readonly messages: readonly Message[];
  /** Answers to readIndex() requests. */
  readonly readStates: readonly ReadState[];
  /** Whether the write in step 1 must be fsync'd. */
  readonly mustSync: boolean;
}

export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId | '';
  /** Only on the leader. */
  readonly progress?: ReadonlyMap<NodeId, PeerStatus>;
}

/** What step() did with a message from the network. */
export type RawStepResult = StepResult | 'refused-local' | 'unknown-peer';

export class RawNode {
  /** The state machine; exposed for status and checkers. Drivers must not mutate it. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readyOutstanding = false;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = config.storage.initialState().hardState;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /** Proposes data; 'proposal-dropped' if there is no leader to take it. Acceptance is not commitment. */
  propose(data: Uint8Array): StepResult {
    return this.raft.step(
      makeMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  proposeConfChange(cc: ConfChange): StepResult {
    return this.raft.step(
      makeMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Delivers a message from a peer. Local message types and responses from non-members are refused. */
  step(m: Message): RawStepResult {
    if (isLocalMessage(m.type)) return 'refused-local';
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return 'unknown-peer';
    return this.raft.step(m);
  }

  /** Applies a committed ConfChange; returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc).confState;
  }

  /** Asks the leader to hand leadership to `transferee` (works from any member). */
  transferLeader(transferee: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /**
   * Requests a linearizable read. The answer comes as a ReadState carrying
   * ctx (which should be unique) in a later Ready; it may never come (lost
   * messages, leader change), so callers retry with a new ctx after a timeout.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(makeMessage({ type: MessageType.MsgReadIndex, from: this.raft.id, context: ctx }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** The outcome of streaming a snapshot to `id` (ok=false: it failed, probe again). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(makeMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftState)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.hasNextEntries() || r.raftLog.hasNextCommittedEntries()) return true;
    return r.readStates.length > 0;
  }

  ready(): Ready {
    assert(!this.readyOutstanding, 'raw-node: ready() called again before advance()');
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.raftLog.unstableEntries();
    const rd: Ready = {
      entries,
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.vote !== this.prevHardState.vote || hard.term !== this.prevHardState.term,
      ...(softStateEqual(soft, this.prevSoftState) ? {} : { softState: soft }),
      ...(hardStateEqual(hard, this.prevHardState) ? {} : { hardState: hard }),
      ...(r.raftLog.unstable.snapshot === null ? {} : { snapshot: r.raftLog.unstable.snapshot }),
    };
    // Accept the Ready: what it hands out is now the driver's.
    r.raftLog.unstable.acceptInProgress();
    this.prevSoftState = soft;
    r.msgs = [];
    r.readStates = [];
    this.readyOutstanding = true;
    return rd;
  }

  /**
   * Tells the core that rd was persisted, sent and applied. `isDurable`
   * false: rd's write is still in flight (leader only, no snapshot; see the
   * module comment); appendDurable() reports it later.
   */
  advance(rd: Ready, isDurable = true): void {
    assert(this.readyOutstanding, 'raw-node: advance() without ready()');
    assert(isDurable || rd.snapshot === undefined, 'raw-node: a snapshot must be durable before advance()');
    this.readyOutstanding = false;
    const r = this.raft;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    r.reduceUncommittedSize(rd.committedEntries);
    const n = rd.committedEntries.length;
    const applied = n > 0 ? rd.committedEntries[n - 1]!.index : (rd.snapshot?.index ?? 0);
    if (applied > 0) r.appliedTo(applied);
    if (isDurable && rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
    }
    if (rd.snapshot !== undefined) r.raftLog.stableSnapTo(rd.snapshot.index);
    r.onStable();
  }

  /**
   * The write of a Ready advanced with `isDurable` false is durable: entries
   * up to (index, term) are on disk. Ignored if they were replaced meanwhile
   * (a later write of the replacement reports it).
   */
  appendDurable(index: number, term: number): void {
    this.raft.raftLog.stableTo(index, term);
    this.raft.onStable();
  }

  status(): Status {
    const r = this.raft;
    let progress: Map<NodeId, PeerStatus> | undefined;
    if (r.state === StateType.Leader) {
      progress = new Map();
      for (const [id, pr] of r.trk.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      firstIndex: r.raftLog.firstIndex(),
      confState: r.trk.confState(),
      leadTransferee: r.leadTransferee,
      ...(progress === undefined ? {} : { progress }),
    };
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}


