/**
 * Where replicas and partitions go. Pure: the caller passes a topology
 * snapshot and gets ids back; no I/O, no clock, no randomness (ties break by
 * id so a decision replays exactly).
 *
 * Rules (DESIGN §11): the 3 replicas of a copyset sit in 3 distinct zones;
 * with fewer zones, on distinct servers; with fewer servers, on distinct
 * metaservers. Among equally good choices the least-loaded metaserver wins.
 */
import { assert } from '../../src/common/assert.js';

export const COPYSET_REPLICAS = 3;
/** A copyset holds at most this many partitions (DESIGN §3: "up to ~128"). */
export const PARTITIONS_PER_COPYSET_MAX = 128;
/** Copysets created per online metaserver before new partitions share copysets. */
export const COPYSETS_PER_METASERVER = 3;

export interface PlacementMetaServer {
  readonly id: number;
  readonly zone: string;
  /** The machine (hostname) it runs on. */
  readonly server: string;
  readonly isOnline: boolean;
  /** Copysets it hosts a replica of. */
  readonly copysetCount: number;
}

function byLoadThenId(a: PlacementMetaServer, b: PlacementMetaServer, load: Map<number, number>): number {
  const la = load.get(a.id) ?? a.copysetCount;
  const lb = load.get(b.id) ?? b.copysetCount;
  return la - lb || a.id - b.id;
}

/**
 * Chooses up to `wanted` metaservers out of `candidates`, given replicas that
 * already exist on `existing`: each pick prefers a zone no chosen replica is
 * in, then a server none is on, then the least load. `load` overrides
 * copysetCount for metaservers that earlier picks in the same round loaded.
 */
export function pickSpread(
  candidates: readonly PlacementMetaServer[],
  existing: readonly PlacementMetaServer[],
  wanted: number,
  load: Map<number, number> = new Map(),
): PlacementMetaServer[] {
  assert(wanted >= 0 && wanted <= COPYSET_REPLICAS, `wanted ${wanted}`);
  const zones = new Set(existing.map((m) => m.zone));
  const servers = new Set(existing.map((m) => m.server));
  const taken = new Set(existing.map((m) => m.id));
  const picked: PlacementMetaServer[] = [];
  for (let i = 0; i < wanted; i++) {
    let best: PlacementMetaServer | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const m of candidates) {
      if (!m.isOnline || taken.has(m.id)) continue;
      // rank 0: new zone; 1: same zone, new server; 2: same server.
      const rank = !zones.has(m.zone) ? 0 : !servers.has(m.server) ? 1 : 2;
      if (rank < bestRank || (rank === bestRank && best !== undefined && byLoadThenId(m, best, load) < 0)) {
        best = m;
        bestRank = rank;
      }
    }
    if (best === undefined) break;
    picked.push(best);
    taken.add(best.id);
    zones.add(best.zone);
    servers.add(best.server);
  }
  assert(new Set(picked.map((m) => m.id)).size === picked.length, 'picks are distinct');
  return picked;
}

/** The peers of a new copyset, or undefined when fewer than 3 metaservers are online. */
export function chooseCopysetPeers(
  metaservers: readonly PlacementMetaServer[],
  load: Map<number, number> = new Map(),
): number[] | undefined {
  const picked = pickSpread(metaservers, [], COPYSET_REPLICAS, load);
  if (picked.length < COPYSET_REPLICAS) return undefined;
  return picked.map((m) => m.id);
}

/** How many copysets the cluster should have for `onlineCount` metaservers. */
export function copysetTargetCount(onlineCount: number): number {
  assert(Number.isSafeInteger(onlineCount) && onlineCount >= 0, 'online count');
  if (onlineCount < COPYSET_REPLICAS) return 0;
  return Math.max(1, Math.floor((onlineCount * COPYSETS_PER_METASERVER) / COPYSET_REPLICAS));
}

export interface PlacementCopyset {
  readonly key: string;
  readonly partitionCount: number;
  /** All replicas on online metaservers. */
  readonly isHealthy: boolean;
}

/**
 * Which copyset takes the next partition: the healthy one with the fewest
 * partitions (ties: smallest key), or 'new' when the cluster is below its
 * copyset target or every healthy copyset is full.
 */
export function choosePartitionCopyset(
  copysets: readonly PlacementCopyset[],
  onlineCount: number,
): { kind: 'existing'; key: string } | { kind: 'new' } {
  const healthy = copysets.filter((c) => c.isHealthy && c.partitionCount < PARTITIONS_PER_COPYSET_MAX);
  if (healthy.length < copysetTargetCount(onlineCount)) return { kind: 'new' };
  let best: PlacementCopyset | undefined;
  for (const c of healthy) {
    if (
      best === undefined ||
      c.partitionCount < best.partitionCount ||
      (c.partitionCount === best.partitionCount && c.key < best.key)
    ) {
      best = c;
    }
  }
  return best === undefined ? { kind: 'new' } : { kind: 'existing', key: best.key };
}
