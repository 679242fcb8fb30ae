/**
 * The Raft state machine (etcd's raft.go): one node's view of one group.
 *
 * Pure: it does no I/O, owns no timers and no randomness of its own. Time is
 * `tick()`; the election jitter comes from the injected Random; outgoing
 * messages are appended to `msgs` and handed to the driver through RawNode's
 * Ready. Roles are dispatched through `stepFn` (stepLeader, stepCandidate,
 * stepFollower) and `tickFn`, which only the becomeX methods change.
 *
 * Paper references: §5.2 election, §5.3 log replication, §5.4.1 election
 * restriction, §5.4.2 committing entries from previous terms, §6 membership
 * (joint consensus), §9.6 pre-vote, §6.2 / thesis §6.4 check-quorum, leases
 * and ReadIndex, thesis §3.10 leadership transfer.
 */
import { assert } from '../../common/assert.js';
import type { Random } from '../../common/random.js';
import { decodeConfChange, encodeConfChange } from './codec.js';
import { Changer, isLeaveJoint, restoreConfig } from './conf-change.js';
import { makeMessage, type Message, MessageType, voteResponseType } from './messages.js';
import { ProgressState } from './progress.js';
import { isJoint, ProgressTracker } from './progress-tracker.js';
import { VoteResult, majorityVoteResult } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly, ReadOnlyOption } from './read-only.js';
import {
  CompactedError,
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type RaftStorage,
  type ReadState,
  type SnapshotMeta,
  type SoftState,
  StateType,
  entrySizeBytes,
} from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /** Election jitter: the timeout is drawn from [electionTick, 2*electionTick). */
  readonly random: Random;
  /** Ticks without hearing from a leader before a follower campaigns. Must exceed heartbeatTick. */
  readonly electionTick: number;
  /** Ticks between leader heartbeats. */
  readonly heartbeatTick: number;
  /** The last applied index on restart, at least the snapshot index (entries up to it are not handed out again). */
  readonly applied?: number;
  /** Bytes of entries per MsgApp (batching); at least one entry is always sent. */
  readonly maxSizePerMsg?: number;
  /** MsgApps in flight per follower in StateReplicate (pipelining). */
  readonly maxInflightMsgs?: number;
  /** Bytes in flight per follower; 0 = unlimited (flow control). */
  readonly maxInflightBytes?: number;
  /** Bytes of uncommitted entries the leader accepts before dropping proposals; 0 = unlimited. */
  readonly maxUncommittedEntriesSize?: number;
  /** Bytes of committed entries per Ready. */
  readonly maxCommittedSizePerReady?: number;
  /** A leader steps down if it has not heard from a quorum within an election timeout. */
  readonly checkQuorum?: boolean;
  /** Campaign only after a pre-vote round shows a quorum would vote for us (§9.6). */
  readonly preVote?: boolean;
  /**
   * How ReadIndex is served; LeaseBased requires checkQuorum. A lease read
   * is answered at once while the leader holds a lease (see `leaseValid`),
   * otherwise through the ReadIndex heartbeat round.
   */
  readonly readOnlyOption?: ReadOnlyOption;
  /**
   * Ticks subtracted from the lease for clock drift and tick granularity
   * (LeaseBased only; default 2). The lease is electionTick minus this.
   */
  readonly leaseMarginTicks?: number;
  /** Followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
  /**
   * A leader removed from (or demoted in) the config steps down when the
   * change is applied. Off by default (as etcd): stepping down at once can
   * leave the remaining members unable to learn that a leave-joint entry
   * committed, while the joint config still needs the removed node's vote,
   * which it refuses to a shorter log. Without it the removed leader keeps
   * replicating (it no longer counts itself nor takes proposals) until the
   * driver transfers leadership or shuts it down.
   */
  readonly stepDownOnRemoval?: boolean;
  /**
   * When the commit index advances, do not send the followers an empty
   * MsgApp just to carry it (raft-rs `skip_bcast_commit`): they learn it
   * from the next MsgApp or heartbeat. Commit propagation is not needed for
   * safety, and for a lone sequential writer that broadcast (two messages
   * out, two follower Readies, two acks back) is as much work as the
   * replication itself and competes with the reply for the CPU. Followers
   * apply later (by up to one heartbeat when idle). Still broadcast while a
   * membership change is pending, so joint configs are left promptly.
   */
  readonly skipBcastCommit?: boolean;
}

export type StepResult = 'ok' | 'proposal-dropped';

const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');
const EMPTY = new Uint8Array(0);
/** The leave-joint ConfChange the leader proposes for auto-leave. */
const EMPTY_CONF_CHANGE_BYTES = encodeConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: EMPTY });

enum CampaignType {
  PreElection = 0,
  Election = 1,
  Transfer = 2,
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | '' = '';
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  state = StateType.Follower;
  /** True if this node is a learner in the current config. */
  isLearner = false;
  /** Outgoing messages, drained by RawNode.ready(). */
  msgs: Message[] = [];
  lead: NodeId | '' = '';
  /** The node leadership is being handed to, '' if none. */
  leadTransferee: NodeId | '' = '';
  /**
   * Only one conf change may be pending (proposed but not applied): the
   * index of the last one proposed by this leader.
   */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** Read requests that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  /** Ticks since this node started: the leader's lease clock. */
  private tickCount = 0;
  private readonly leaseMarginTicks: number;
  /** A leader that sent MsgTimeoutNow holds no lease for the rest of its term (the transferee's election is forced). */
  private leaseRevoked = false;
  /**
   * Lease mode only: just after (re)starting, a node does not know of a
   * leader, yet may have promised one not to vote (before a crash). It
   * refuses votes until an election timeout has passed, so a leader's lease
   * survives follower restarts (thesis §6.4.1).
   */
  private startupQuiet: boolean;
  private readonly random: Random;
  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly disableProposalForwarding: boolean;
  private readonly stepDownOnRemoval: boolean;
  private readonly skipBcastCommit: boolean;
  private tickFn: () => void;
  private stepFn: (m: Message) => StepResult;

  constructor(c: RaftConfig) {
    assert(c.id !== '', 'raft: id must not be empty');
    assert(c.heartbeatTick > 0, 'raft: heartbeatTick must be positive');
    assert(c.electionTick > c.heartbeatTick, 'raft: electionTick must exceed heartbeatTick');
    const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
    assert(
      readOnlyOption !== ReadOnlyOption.LeaseBased || c.checkQuorum === true,
      'raft: lease-based reads need checkQuorum',
    );
    this.id = c.id;
    this.random = c.random;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 0);
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? this.maxMsgSize);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnly = new ReadOnly(readOnlyOption);
    this.leaseMarginTicks = c.leaseMarginTicks ?? 2;
    assert(this.leaseMarginTicks >= 1 && this.leaseMarginTicks < c.electionTick, 'raft: leaseMarginTicks out of range');
    this.startupQuiet = readOnlyOption === ReadOnlyOption.LeaseBased;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? false;
    this.skipBcastCommit = c.skipBcastCommit ?? false;
    this.tickFn = this.tickElection;
    this.stepFn = this.stepFollower;

    const { hardState, confState } = c.storage.initialState();
    const restored = restoreConfig(this.trk, this.raftLog.lastIndex(), confState);
    assert(restored.ok, `raft: cannot restore config: ${restored.ok ? '' : restored.reason}`);
    this.switchToConfig();
    if (hardState.term !== 0 || hardState.vote !== '' || hardState.commit !== 0) this.loadState(hardState);
    // A torn write may keep entries of a new term but lose the hard state
    // written after them. Any vote in that term was never sent (votes leave
    // only after the hard state is durable), so adopt the term without a
    // vote; otherwise a single-voter group could lead the same term twice
    // (found by the simulator, seed 1017507).
    const lastTerm = this.raftLog.lastTerm();
    if (lastTerm > this.term) {
      this.term = lastTerm;
      this.vote = '';
    }
    if ((c.applied ?? 0) > 0) this.raftLog.appliedTo(c.applied!);
    this.becomeFollower(this.term, '');
  }

  // ---- state snapshots for RawNode -------------------------------------------------

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit <= this.raftLog.lastIndex(),
      `raft: hard state commit ${hs.commit} beyond last index ${this.raftLog.lastIndex()}; was the log truncated or lost?`,
    );
    // A snapshot persisted just before a crash may be newer than the hard
    // state's commit: everything in a snapshot is committed, so keep the max.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;

  }

  // ---- sending ----------------------------------------------------------------------

  /** Queues m; stamps our term on everything except votes (which carry their own) and forwarded requests. */
  private send(fields: Partial<Message> & { type: MessageType; to: NodeId }): void {
    const t = fields.type;
    let term = fields.term ?? 0;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      assert(term !== 0, `raft: ${MessageType[t]} must carry a term`);
    } else {
      assert(term === 0, `raft: ${MessageType[t]} must not set a term explicitly`);
      // Proposals and read requests are forwarded as-is: their term is not checked.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) term = this.term;
    }
    const m = makeMessage(fields) as { -readonly [K in keyof Message]: Message[K] };
    if (fields.from === undefined) m.from = this.id;
    m.term = term;
    this.msgs.push(m);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends a MsgApp with new entries (or, if sendIfEmpty, an empty one to
   * carry the commit index), or a MsgSnap when the entries it needs are
   * compacted. Returns whether a message was sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    assert(pr !== undefined, `raft: no progress for ${to}`);
    if (pr.isPaused()) return false;
    const prevTerm = this.raftLog.tryTerm(pr.next - 1);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch (err) {
        if (!(err instanceof CompactedError)) throw err;
      }
    }
    if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
    if (prevTerm === undefined || ents === undefined) return this.sendSnapshot(to);

    const prevIndex = pr.next - 1;
    let bytes = 0;
    for (const e of ents) bytes += entrySizeBytes(e);
    if (ents.length > 0) {
      const last = ents[ents.length - 1]!.index;
      if (pr.state === ProgressState.Replicate) {
        pr.optimisticUpdate(last);
        pr.inflights.add(last, bytes);
      } else if (pr.state === ProgressState.Probe) {
        pr.probeSent = true;
      }
    }
    this.send({
      type: MessageType.MsgApp,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    });
    return true;
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    // A follower that is not responding would only waste a snapshot transfer.
    if (!pr.recentActive) return false;
    const snap: SnapshotMeta = this.raftLog.unstable.snapshot ?? this.raftLog.storage.snapshotMeta();
    assert(snap.index > 0, 'raft: need a non-empty snapshot');
    pr.becomeSnapshot(snap.index);
    this.send({ type: MessageType.MsgSnap, to, snapshot: snap });
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array): void {
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(this.trk.progress.get(to)!.match, this.raftLog.committed);
    // `index` carries the leader's tick at sending; the follower echoes it, and
    // the leader's lease runs from the oldest tick a quorum has echoed.
    this.send({ type: MessageType.MsgHeartbeat, to, commit, context: ctx, index: this.tickCount });
  }

  private bcastAppend(): void {
    for (const id of this.trk.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  /** The commit index advanced: tell the followers (see Config.skipBcastCommit). */
  private bcastCommit(): void {
    if (!this.skipBcastCommit || this.pendingConfIndex > this.raftLog.applied) {
      this.bcastAppend();
      return;
    }
    // Entries not yet sent still go (each MsgApp carries the new commit); no empty ones.
    for (const id of this.trk.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx() ?? EMPTY);
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array): void {
    for (const id of this.trk.memberIds()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseRevoked = true;
    this.send({ type: MessageType.MsgTimeoutNow, to });
  }

  // ---- leader bookkeeping -----------------------------------------------------------

  /** Advances the commit index to what a quorum holds (current-term rule in RaftLog.maybeCommit). */
  private maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.becomeProbe();
      pr.match = id === this.id ? this.stableLastIndex() : 0;
      pr.next = last + 1;
      pr.recentActive = false;
      pr.probeSent = false;
      pr.leaseAckTick = -1;
      pr.inflights.reset();
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  private appendEntries(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const stamped = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(stamped)) return false;
    li = this.raftLog.append(stamped);
    // The leader's own copy counts toward the quorum only once it is durable
    // (onStable, from RawNode.advance), as a follower's does. etcd counted it
    // at once; with a leader sending MsgApp before its own fsync (thesis
    // §10.2.1) that let a single-voter group ship a commit index covering
    // entries a crash then lost (found by the simulator, seed 50001082).
    assert(li >= this.raftLog.committed, 'raft: append below the commit index');
    return true;
  }

  /** The last index known durable here (the unstable tail starts after it). */
  private stableLastIndex(): number {
    return Math.min(this.raftLog.lastIndex(), this.raftLog.unstable.offset - 1);
  }

  /** Entries became durable (RawNode.advance): a leader now counts its own copy. */
  onStable(): void {
    if (this.state !== StateType.Leader) return;
    const pr = this.trk.progress.get(this.id);
    if (pr === undefined) return;
    if (!pr.maybeUpdate(this.stableLastIndex())) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastCommit();
    }
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += e.data.byteLength;
    if (this.uncommittedSize > 0 && s > 0 && this.maxUncommittedSize > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.state !== StateType.Leader) return;
    let s = 0;
    for (const e of ents) s += e.data.byteLength;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - s);
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = '';
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---- ticks ------------------------------------------------------------------------

  tick(): void {
    this.tickCount++;
    if (this.startupQuiet && this.electionElapsed + 1 >= this.electionTimeout) this.startupQuiet = false;
    this.tickFn();
  }

  /**
   * Whether this leader may answer reads from its lease. Followers ignore
   * votes for electionTimeout ticks after hearing from the leader
   * (check-quorum stickiness, and startupQuiet across restarts), so no other
   * leader can be elected before (send tick of a heartbeat a quorum has
   * acknowledged) + electionTimeout. The margin covers tick granularity and
   * drift. etcd's lease instead lasts until check-quorum notices the loss
   * of the quorum, up to two election timeouts later: the simulator found
   * stale reads in that window.
   */
  leaseValid(): boolean {
    if (this.state !== StateType.Leader || this.leaseRevoked || this.leadTransferee !== '') return false;
    const c = this.trk.config;
    const tickOf = (id: NodeId): number => (id === this.id ? this.tickCount : (this.trk.progress.get(id)?.leaseAckTick ?? -1));
    const quorumTick = Math.min(quorumOldest(c.incoming, tickOf), quorumOldest(c.outgoing, tickOf));
    return this.tickCount - quorumTick < this.electionTimeout - this.leaseMarginTicks;
  }

  private tickElection = (): void => {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  };

  private tickHeartbeat = (): void => {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(makeMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== '') this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  };

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.int(this.electionTimeout);
  }

  /** Whether this node may become leader: a voter that is not a learner. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  // ---- role changes (the only place stepFn/tickFn change) --------------------------

  becomeFollower(term: number, lead: NodeId | ''): void {
    this.stepFn = this.stepFollower;
    this.reset(term);
    this.tickFn = this.tickElection;
    this.lead = lead;
    this.state = StateType.Follower;
  }

  private becomeCandidate(): void {
    assert(this.state !== StateType.Leader, 'raft: invalid transition leader -> candidate');
    this.stepFn = this.stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElection;
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  private becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, 'raft: invalid transition leader -> pre-candidate');
    // Pre-candidacy changes neither the term nor the vote (§9.6).
    this.stepFn = this.stepCandidate;
    this.trk.resetVotes();
    this.tickFn = this.tickElection;
    this.lead = '';
    this.state = StateType.PreCandidate;
  }

  private becomeLeader(): void {
    assert(this.state !== StateType.Follower, 'raft: invalid transition follower -> leader');
    this.stepFn = this.stepLeader;
    this.reset(this.term);
    this.leaseRevoked = false;
    this.tickFn = this.tickHeartbeat;
    this.lead = this.id;
    this.state = StateType.Leader;
    // Our own progress is always replicating.
    this.trk.progress.get(this.id)!.becomeReplicate();
    // Conf changes in the uncommitted tail may be pending: refuse new ones
    // until everything up to here is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // §5.4.2 / §8: an empty entry of our term lets us commit the tail of
    // earlier terms and learn the commit index for reads.
    const ok = this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }]);
    assert(ok, 'raft: the empty leader entry must be accepted');
  }

  // ---- elections ---------------------------------------------------------------------

  private hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // A conf change committed but not applied could change who may vote: wait for it.
    if (this.raftLog.committed > this.raftLog.applied) {
      const ents = this.raftLog.slice(this.raftLog.applied + 1, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER);
      if (ents.some((e) => e.type === EntryType.ConfChange)) return;
    }
    this.campaign(t);
  }

  private campaign(t: CampaignType): void {
    assert(this.promotable(), 'raft: campaign by a node that is not promotable');
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes are asked for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single-voter group wins at once.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      this.send({
        type: voteMsg,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
        context: t === CampaignType.Transfer ? CAMPAIGN_TRANSFER : EMPTY,
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- step ------------------------------------------------------------------------

  step(m: Message): StepResult {
    if (m.term === 0) {
      // Local message (or a forwarded proposal/read): no term checks.
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        // Leader stickiness (§6 / thesis §4.2.3): while we hear from a
        // leader, ignore votes, so a removed or partitioned node cannot
        // disrupt the cluster. A transfer forces the vote.
        const inLease =
          this.checkQuorum && (this.lead !== '' || this.startupQuiet) && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) return 'ok';
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; the term
        // moves when the pre-vote quorum is reached.
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      if (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp) {
        // A stale leader (e.g. healed from a partition) learns the new term
        // from this response and steps down. etcd answers only with pre-vote
        // or check-quorum on, relying otherwise on this node campaigning with
        // its higher term; but a learner (or a node whose applied config
        // lacks it) never campaigns, and the simulator found that deadlock:
        // so always answer.
        this.send({ type: MessageType.MsgAppResp, to: m.from });
      } else if (m.type === MessageType.MsgPreVote) {
        // Reject explicitly so the pre-candidate learns our higher term.
        this.send({ type: MessageType.MsgPreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return 'ok';
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return 'ok';
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // §5.2: one vote per term (repeat to the same candidate); §5.4.1:
        // only for a log at least as up-to-date as ours. A pre-vote for a
        // future term may be granted even if we voted this term.
        const canVote =
          this.vote === m.from ||
          (this.vote === '' && this.lead === '') ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send({ type: voteResponseType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true });
        }
        return 'ok';
      }
      default:
        return this.stepFn(m);
    }
  }

  private stepLeader = (m: Message): StepResult => {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return 'ok';
      case MessageType.MsgCheckQuorum: {
        const self = this.trk.progress.get(this.id);
        if (self !== undefined) self.recentActive = true;
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, '');
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return 'ok';
      }
      case MessageType.MsgProp:
        return this.leaderPropose(m);
      case MessageType.MsgReadIndex:
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return 'ok';
        }
        // Thesis §6.4: the commit index is only known to be current once an
        // entry of this term is committed.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return 'ok';
        }
        this.handleReadIndex(m);
        return 'ok';
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return 'ok';
    switch (m.type) {
      case MessageType.MsgAppResp:
        this.handleAppendResponse(m);
        break;
      case MessageType.MsgHeartbeatResp: {
        pr.recentActive = true;
        pr.leaseAckTick = Math.max(pr.leaseAckTick, m.index);
        pr.probeSent = false;
        // The follower is alive: free a slot so a stalled pipeline can resume.
        if (pr.state === ProgressState.Replicate && pr.inflights.isFull()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
        if (m.context.byteLength === 0) break;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined) break;
        const votes = new Map<NodeId, boolean>();
        for (const id of acks) votes.set(id, true);
        const c = this.trk.config;
        if (majorityVoteResult(c.incoming, votes) !== VoteResult.Won) break;
        if (majorityVoteResult(c.outgoing, votes) !== VoteResult.Won) break;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.request, rs.index);
        break;
      }
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressState.Snapshot) break;
        if (m.reject) pr.pendingSnapshot = 0;
        // Either way, wait for the follower's MsgAppResp (or a heartbeat) before probing.
        pr.becomeProbe();
        pr.probeSent = true;
        break;
      case MessageType.MsgUnreachable:
        // Stop pipelining into a peer we cannot reach: probe it instead.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        break;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m.from);
        break;
      default:
        break;
    }
    return 'ok';
  };

  private leaderPropose(m: Message): StepResult {
    assert(m.entries.length > 0, 'raft: empty proposal');
    // A removed leader, or one handing over leadership, takes no proposals.
    if (!this.trk.progress.has(this.id)) return 'proposal-dropped';
    if (this.leadTransferee !== '') return 'proposal-dropped';
    const ents: Entry[] = [];
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
        const alreadyJoint = isJoint(this.trk.config);
        const wantsLeaveJoint = isLeaveJoint(cc);
        // A leader may not remove or demote itself: if it crashed right after
        // applying that change, the outgoing half of a joint config could need
        // the vote of a node that can no longer campaign yet holds the longest
        // log (found by the simulator). Transfer leadership first.
        // Leaving a joint config in which this leader is only an outgoing voter
        // removes it too (seed 70005047).
        const removesSelf =
          cc.changes.some(
            (c) => c.nodeId === this.id && (c.type === ConfChangeType.RemoveNode || c.type === ConfChangeType.AddLearnerNode),
          ) ||
          (wantsLeaveJoint && !this.trk.config.incoming.has(this.id));
        const refused =
          alreadyPending || removesSelf || (alreadyJoint && !wantsLeaveJoint) || (!alreadyJoint && wantsLeaveJoint);
        if (refused) {
          // Replace by an empty normal entry so indexes already promised stay valid.
          ents.push({ term: 0, index: 0, type: EntryType.Normal, data: EMPTY });
          continue;
        }
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
      ents.push(e);
    }
    if (!this.appendEntries(ents)) return 'proposal-dropped';
    this.bcastAppend();
    return 'ok';
  }

  private handleAppendResponse(m: Message): void {
    const pr = this.trk.progress.get(m.from)!;
    pr.recentActive = true;
    if (m.reject) {
      // Fast back-off (thesis §5.3.6 style): skip every entry of a term the
      // follower cannot have, using its hint (index, term).
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === ProgressState.Probe) {
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower caught up past our compaction point: replicate normally.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastCommit();
    } else if (oldPaused) {
      this.sendAppend(m.from);
    }
    // Fill the pipeline with whatever is left (bounded by the inflight window).
    for (let guard = 0; guard < this.trk.maxInflightMsgs + 1 && this.maybeSendAppend(m.from, false); guard++) {
      // keep sending
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleTransferLeader(transferee: NodeId): void {
    const pr = this.trk.progress.get(transferee);
    if (pr === undefined || pr.isLearner) return;
    if (this.leadTransferee !== '') {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout (tickHeartbeat aborts it).
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  private handleReadIndex(m: Message): void {
    if (this.readOnly.option === ReadOnlyOption.Safe) {
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, m.context);
      this.bcastHeartbeatWithCtx(m.context);
    } else if (this.leaseValid()) {
      this.respondToReadIndex(m, this.raftLog.committed);
    } else {
      // No lease right now: confirm leadership with a heartbeat round instead.
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, m.context);
      this.bcastHeartbeatWithCtx(m.context);
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.handleReadIndex(m);
  }

  private respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === '' || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.context });
      return;
    }
    this.send({ type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, context: req.context });
  }

  private stepCandidate = (m: Message): StepResult => {
    const myVoteResp = this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        return 'proposal-dropped';
      case MessageType.MsgApp:
        // A leader of our term exists (§5.2): follow it.
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return 'ok';
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return 'ok';
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return 'ok';
      case myVoteResp: {
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) {
            this.campaign(CampaignType.Election);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === VoteResult.Lost) {
          // m.term may exceed ours for a rejected pre-vote; stepping down at our term is fine.
          this.becomeFollower(this.term, '');
        }
        return 'ok';
      }
      default:
        return 'ok';
    }
  };

  private stepFollower = (m: Message): StepResult => {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === '' || this.disableProposalForwarding) return 'proposal-dropped';
        this.msgs.push({ ...m, to: this.lead });
        return 'ok';
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return 'ok';
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return 'ok';
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return 'ok';
      case MessageType.MsgTransferLeader:
        if (this.lead !== '') this.msgs.push({ ...m, to: this.lead });
        return 'ok';
      case MessageType.MsgTimeoutNow:
        // Leadership transfer: campaign at once, skipping pre-vote and leases.
        this.hup(CampaignType.Transfer);
        return 'ok';
      case MessageType.MsgReadIndex:
        if (this.lead !== '') this.msgs.push({ ...m, to: this.lead });
        return 'ok';
      case MessageType.MsgReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return 'ok';
      default:
        return 'ok';
    }
  };

  // ---- follower handlers -------------------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index matches any leader's log (§5.4.3).
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: lastNew });
      return;
    }
    // §5.3 consistency check failed: hint where our log may match theirs.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send({
      type: MessageType.MsgAppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context, index: m.index });
  }

  private handleSnapshot(m: Message): void {
    assert(m.snapshot !== null, 'raft: MsgSnap without a snapshot');
    if (this.restore(m.snapshot)) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Installs a snapshot from the leader; false if it is stale or already covered by our log. */
  private restore(s: SnapshotMeta): boolean {
    if (s.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a follower of the sender's term gets here; defensive.
      this.becomeFollower(this.term + 1, '');
      return false;
    }
    const cs = s.confState;
    const member = [cs.voters, cs.learners, cs.votersOutgoing].some((set) => set.includes(this.id));
    if (!member) return false;
    if (this.raftLog.matchTerm(s.index, s.term)) {
      // We have the entry already: fast-forward the commit index instead.
      this.raftLog.commitTo(s.index);
      return false;
    }
    this.raftLog.restore(s);
    const fresh = new ProgressTracker(this.trk.maxInflightMsgs, this.trk.maxInflightBytes);
    const restored = restoreConfig(fresh, this.raftLog.lastIndex(), cs);
    assert(restored.ok, `raft: snapshot config cannot be restored: ${restored.ok ? '' : restored.reason}`);
    this.trk.config = fresh.config;
    this.trk.progress = fresh.progress;
    this.switchToConfig();
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined) pr.maybeUpdate(pr.next - 1);
    return true;
  }

  // ---- membership ----------------------------------------------------------------------

  /**
   * Applies a committed ConfChange (called by the driver when it applies the
   * entry). An invalid change is refused identically on every member and
   * leaves the config unchanged.
   */
  applyConfChange(cc: ConfChange): { confState: ConfState; refused?: string } {
    const res = new Changer(this.trk, this.raftLog.lastIndex()).apply(cc);
    if (!res.ok) return { confState: this.trk.confState(), refused: res.reason };
    this.trk.config = res.value.config;
    this.trk.progress = res.value.progress;
    return { confState: this.switchToConfig() };
  }

  private switchToConfig(): ConfState {
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.state === StateType.Leader) {
      // Removed or demoted: stop leading; the remaining voters elect a new leader.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, '');
      return cs;
    }
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    // The quorum changed: maybe more is committed now; new members need appends.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      for (const id of this.trk.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.leadTransferee !== '' && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /** Called by RawNode.advance once the driver has applied up to `applied`. */
  appliedTo(applied: number): void {
    const old = this.raftLog.applied;
    this.raftLog.appliedTo(applied);
    // Auto-leave: once the joint config is applied, the leader proposes leaving it.
    if (
      this.trk.config.autoLeave &&
      old <= this.pendingConfIndex &&
      applied >= this.pendingConfIndex &&
      this.state === StateType.Leader &&
      // A leader that leaving would remove does not propose it (transfer first).
      this.trk.config.incoming.has(this.id)
    ) {
      const ok = this.appendEntries([{ term: 0, index: 0, type: EntryType.ConfChange, data: EMPTY_CONF_CHANGE_BYTES }]);
      assert(ok, 'raft: the auto-leave entry must be accepted');
      this.pendingConfIndex = this.raftLog.lastIndex();
      this.bcastAppend();
    }
  }
}

/** The tick a majority of `voters` has echoed (the quorum's oldest); +Infinity for an empty half. */
function quorumOldest(voters: ReadonlySet<NodeId>, tickOf: (id: NodeId) => number): number {
  if (voters.size === 0) return Number.POSITIVE_INFINITY;
  const ticks = [...voters].map(tickOf).sort((a, b) => b - a);
  return ticks[Math.floor(voters.size / 2)]!;
}
