/**
 * The data types the Raft core exchanges with its driver, in etcd raft's
 * vocabulary so traces line up with etcd's. Pure data: no I/O here.
 *
 * Indexes and terms are plain numbers (safe integers: a log would need
 * 2^53 entries to overflow); node ids are non-empty strings.
 */

export type NodeId = string;

export enum EntryType {
  Normal = 0,
  /** A membership change; `data` encodes a ConfChange (see conf-change codec in core). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque payload; an empty array for the no-op a new leader appends. */
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | '';
  readonly commit: number;
}

/**
 * Membership. `voters` is the current configuration; during a joint
 * configuration `votersOutgoing` is the old one and decisions need a
 * majority of both. `learners` receive the log but do not vote.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /**
   * Voters of the outgoing config being demoted to learners: they become
   * learners when the joint config is left (absent means none).
   */
  readonly learnersNext?: readonly NodeId[];
  /** In a joint config: leave it automatically once it is applied. */
  readonly autoLeave?: boolean;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: '', commit: 0 });
export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: [], votersOutgoing: [], learners: [] });

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === '' && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Thrown by storage when the requested index lies behind the last snapshot. */
export class CompactedError extends Error {
  readonly code = 'CURVEFS_ERR_RAFT_COMPACTED';
  constructor(index: number, firstIndex: number) {
    super(`raft: index ${index} is compacted (first index ${firstIndex})`);
    this.name = 'CompactedError';
  }
}

/** Thrown by storage when the requested index is beyond the last index. */
export class UnavailableError extends Error {
  readonly code = 'CURVEFS_ERR_RAFT_UNAVAILABLE';
  constructor(index: number, lastIndex: number) {
    super(`raft: index ${index} is unavailable (last index ${lastIndex})`);
    this.name = 'UnavailableError';
  }
}

/**
 * The synchronous read side of the log, as the core sees it (etcd's Storage).
 * Returned arrays are owned by the caller only for reading.
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes of data (always at least one entry if any). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshotMeta(): SnapshotMeta;
}

/** The role of a node (etcd's StateType). */
export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Volatile state: not persisted, reported in Ready when it changes. */
export interface SoftState {
  /** The leader this node knows of, '' if none. */
  readonly lead: NodeId | '';
  readonly raftState: StateType;
}

/**
 * A linearizable read's answer: once the state machine has applied `index`,
 * reads identified by `requestCtx` may be served from it.
 */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
}

/**
 * How a ConfChange moves between configurations (etcd's ConfChangeTransition).
 * Auto: a single voter change is applied directly; anything larger goes
 * through a joint config which is left automatically. JointImplicit: always
 * joint, left automatically. JointExplicit: always joint, the application
 * leaves it by proposing an empty ConfChange.
 */
export enum ConfChangeTransition {
  Auto = 0,
  JointImplicit = 1,
  JointExplicit = 2,
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * A membership change (etcd's ConfChangeV2). An empty `changes` list means
 * "leave the joint configuration".
 */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  /** Opaque to Raft (e.g. the address of an added node). */
  readonly context: Uint8Array;
}

/** A snapshot as storage keeps it: metadata plus the state machine image. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT_META: SnapshotMeta = Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE });

/** Bytes an entry counts for in size limits (payload plus a fixed header estimate). */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}
