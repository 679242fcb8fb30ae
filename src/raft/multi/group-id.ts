/**
 * A Raft group's id: "<poolId>/<copysetId>", as CurveFS names copysets by
 * (pool, copyset). A string so it can key Maps and label metrics directly;
 * the wire carries the two numbers (raft.proto GroupMessages).
 */
import { assert } from '../../common/assert.js';

export type GroupId = string & { readonly __brand?: 'GroupId' };

export function groupId(poolId: number, copysetId: number): GroupId {
  assert(Number.isSafeInteger(poolId) && poolId >= 0, `bad pool id ${poolId}`);
  assert(Number.isSafeInteger(copysetId) && copysetId >= 0, `bad copyset id ${copysetId}`);
  return `${poolId}/${copysetId}`;
}

export function parseGroupId(id: GroupId): { poolId: number; copysetId: number } {
  const slash = id.indexOf('/');
  assert(slash > 0, `bad group id ${id}`);
  const poolId = Number(id.slice(0, slash));
  const copysetId = Number(id.slice(slash + 1));
  assert(Number.isSafeInteger(poolId) && poolId >= 0 && Number.isSafeInteger(copysetId) && copysetId >= 0, `bad group id ${id}`);
  return { poolId, copysetId };
}
