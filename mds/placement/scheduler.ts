/**
 * The MDS schedulers as one pure function: topology snapshot in, operations
 * out. The leader runs it every few seconds and carries the operations out
 * through MetaserverAdmin (Raft membership change and leader transfer on the
 * copyset's leader); heartbeats then report the new configuration.
 *
 * 1. Re-replication: a copyset with a replica on an offline metaserver gets
 *    that replica replaced by one on a healthy metaserver (ChangePeer), chosen
 *    with the placement rules (new zone first, then new server, least load).
 *    A copyset changes one peer at a time and needs its leader to be alive and
 *    a majority online (else Raft cannot commit the change).
 * 2. Leader balance: when one metaserver leads at least 2 more copysets than
 *    a peer of one of those copysets, one leadership moves (TransferLeader).
 *    Only copysets whose replicas are all online take part.
 * 3. Copyset balance, only while every copyset is fully healthy and nothing
 *    else is planned: when a metaserver hosts at least 2 more replicas than
 *    another online one, one replica moves (ChangePeer), if the copyset keeps
 *    at least as many distinct zones. One move per round: a move copies data.
 */
import { assert } from '../../src/common/assert.js';
import { COPYSET_REPLICAS, pickSpread, type PlacementMetaServer } from './placement.js';

export interface ScheduleCopyset {
  readonly poolId: number;
  readonly copysetId: number;
  readonly epoch: number;
  readonly peers: readonly number[];
  /** Metaserver id of the Raft leader; 0 when unknown. */
  readonly leader: number;
}

export interface ScheduleInput {
  readonly metaservers: readonly PlacementMetaServer[];
  readonly copysets: readonly ScheduleCopyset[];
  /** `${poolId}/${copysetId}` of copysets with an operation still in flight. */
  readonly busyCopysets: ReadonlySet<string>;
  /** Upper bound on the operations returned. */
  readonly opsMax: number;
}

export type ScheduleOp =
  | {
      readonly kind: 'changePeer';
      readonly poolId: number;
      readonly copysetId: number;
      readonly epoch: number;
      readonly remove: number;
      readonly add: number;
    }
  | {
      readonly kind: 'transferLeader';
      readonly poolId: number;
      readonly copysetId: number;
      readonly epoch: number;
      readonly from: number;
      readonly to: number;
    };

export function copysetKey(poolId: number, copysetId: number): string {
  return `${poolId}/${copysetId}`;
}

/** A metaserver is online while its last heartbeat is younger than the timeout. */
export function isMetaServerOnline(lastHeartbeatMs: number, nowMs: number, offlineTimeoutMs: number): boolean {
  return nowMs - lastHeartbeatMs < offlineTimeoutMs;
}

export function planSchedule(input: ScheduleInput): ScheduleOp[] {
  assert(input.opsMax >= 0, 'opsMax');
  const ops: ScheduleOp[] = [];
  const byId = new Map(input.metaservers.map((m) => [m.id, m]));
  const load = new Map(input.metaservers.map((m) => [m.id, m.copysetCount]));
  const touched = new Set<string>();

  // 1. Re-replication first: it restores redundancy, balance only improves speed.
  for (const copyset of sortedCopysets(input.copysets)) {
    if (ops.length >= input.opsMax) return ops;
    const key = copysetKey(copyset.poolId, copyset.copysetId);
    if (input.busyCopysets.has(key)) continue;
    const offline = copyset.peers.filter((id) => byId.get(id)?.isOnline !== true);
    if (offline.length === 0) continue;
    const online = copyset.peers.filter((id) => byId.get(id)?.isOnline === true);
    // Raft needs a live leader and a majority to commit a membership change.
    if (online.length * 2 <= copyset.peers.length) continue;
    if (copyset.leader === 0 || !online.includes(copyset.leader)) continue;
    const remaining = online.map((id) => byId.get(id)!);
    const candidates = input.metaservers.filter((m) => !copyset.peers.includes(m.id));
    const [replacement] = pickSpread(candidates, remaining, 1, load);
    if (replacement === undefined) continue;
    const remove = Math.min(...offline);
    ops.push({ kind: 'changePeer', poolId: copyset.poolId, copysetId: copyset.copysetId, epoch: copyset.epoch, remove, add: replacement.id });
    load.set(replacement.id, (load.get(replacement.id) ?? 0) + 1);
    load.set(remove, (load.get(remove) ?? 1) - 1);
    touched.add(key);
  }

  // 2. Leader balance over fully healthy copysets not touched above.
  const eligible = input.copysets.filter((c) => {
    const key = copysetKey(c.poolId, c.copysetId);
    return (
      !input.busyCopysets.has(key) &&
      !touched.has(key) &&
      c.leader !== 0 &&
      c.peers.includes(c.leader) &&
      c.peers.length === COPYSET_REPLICAS &&
      c.peers.every((id) => byId.get(id)?.isOnline === true)
    );
  });
  const leaderCount = new Map<number, number>();
  for (const m of input.metaservers) if (m.isOnline) leaderCount.set(m.id, 0);
  for (const c of input.copysets) {
    if (leaderCount.has(c.leader)) leaderCount.set(c.leader, leaderCount.get(c.leader)! + 1);
  }
  const moved = new Set<string>();
  while (ops.length < input.opsMax) {
    const move = bestLeaderMove(eligible, moved, leaderCount);
    if (move === undefined) break;
    ops.push(move.op);
    moved.add(copysetKey(move.op.poolId, move.op.copysetId));
    leaderCount.set(move.op.from, leaderCount.get(move.op.from)! - 1);
    leaderCount.set(move.op.to, leaderCount.get(move.op.to)! + 1);
  }

  // 3. Copyset balance.
  const allHealthy = eligible.length === input.copysets.length && input.busyCopysets.size === 0;
  if (ops.length === 0 && input.opsMax > 0 && allHealthy) {
    const move = bestReplicaMove(input.copysets, input.metaservers);
    if (move !== undefined) ops.push(move);
  }
  return ops;
}

/** The replica move that narrows the widest copyset-count gap (≥ 2) without losing zone spread. */
function bestReplicaMove(copysets: readonly ScheduleCopyset[], metaservers: readonly PlacementMetaServer[]): ScheduleOp | undefined {
  const online = metaservers.filter((m) => m.isOnline);
  const byId = new Map(online.map((m) => [m.id, m]));
  let best: ScheduleOp | undefined;
  let bestGap = 1;
  for (const c of sortedCopysets(copysets)) {
    const zones = new Set(c.peers.map((id) => byId.get(id)?.zone));
    for (const from of [...c.peers].sort((a, b) => a - b)) {
      const source = byId.get(from);
      if (source === undefined) continue;
      for (const target of [...online].sort((a, b) => a.id - b.id)) {
        if (c.peers.includes(target.id)) continue;
        const gap = source.copysetCount - target.copysetCount;
        if (gap <= bestGap) continue;
        const after = new Set(c.peers.filter((id) => id !== from).map((id) => byId.get(id)?.zone));
        after.add(target.zone);
        if (after.size < zones.size) continue;
        bestGap = gap;
        best = { kind: 'changePeer', poolId: c.poolId, copysetId: c.copysetId, epoch: c.epoch, remove: from, add: target.id };
      }
    }
  }
  return best;
}

function sortedCopysets(copysets: readonly ScheduleCopyset[]): ScheduleCopyset[] {
  return [...copysets].sort((a, b) => a.poolId - b.poolId || a.copysetId - b.copysetId);
}

/** The transfer that narrows the widest leader-count gap between two peers of one copyset, if any gap is ≥ 2. */
function bestLeaderMove(
  eligible: readonly ScheduleCopyset[],
  moved: ReadonlySet<string>,
  leaderCount: ReadonlyMap<number, number>,
): { op: Extract<ScheduleOp, { kind: 'transferLeader' }> } | undefined {
  let best: Extract<ScheduleOp, { kind: 'transferLeader' }> | undefined;
  let bestGap = 1;
  for (const c of sortedCopysets(eligible)) {
    if (moved.has(copysetKey(c.poolId, c.copysetId))) continue;
    const from = c.leader;
    const fromCount = leaderCount.get(from) ?? 0;
    for (const to of [...c.peers].sort((a, b) => a - b)) {
      if (to === from) continue;
      const gap = fromCount - (leaderCount.get(to) ?? 0);
      if (gap > bestGap) {
        bestGap = gap;
        best = { kind: 'transferLeader', poolId: c.poolId, copysetId: c.copysetId, epoch: c.epoch, from, to };
      }
    }
  }
  return best === undefined ? undefined : { op: best };
}
