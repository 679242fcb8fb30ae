/**
 * When a metaserver may drop its replica of a copyset (replica-removal.ts):
 * only when its own configuration or a newer one vouched for by the caller
 * leaves it out; never when the caller lists it, never on an older claim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRemovedReplica } from '../../metaserver/copyset/replica-removal.js';

const conf = (voters: string[], extra: { learners?: string[]; votersOutgoing?: string[] } = {}) => ({
  voters,
  votersOutgoing: extra.votersOutgoing ?? [],
  learners: extra.learners ?? [],
});
const ME = '127.0.0.1:9001';

test('a replica whose own conf no longer lists it is removed', () => {
  assert.equal(isRemovedReplica(ME, conf(['a', 'b', 'c']), 2, { epoch: 0, peers: [] }), true);
  assert.equal(isRemovedReplica(ME, conf(['a', 'b', 'c']), 2, { epoch: 2, peers: ['a', 'b', 'c'] }), true);
});

test('a replica still listed locally needs a newer configuration without it', () => {
  const mine = conf([ME, 'b', 'c']);
  assert.equal(isRemovedReplica(ME, mine, 1, { epoch: 2, peers: ['b', 'c', 'd'] }), true, 'it never learnt of its removal');
  assert.equal(isRemovedReplica(ME, mine, 2, { epoch: 2, peers: ['b', 'c', 'd'] }), false, 'not newer than what it applied');
  assert.equal(isRemovedReplica(ME, mine, 1, { epoch: 0, peers: [] }), false, 'no claim');
  assert.equal(isRemovedReplica(ME, mine, 1, { epoch: 5, peers: [] }), false, 'a claim naming no voters is no configuration');
});

test('a caller listing the replica is never obeyed; learners and joint configs count as membership', () => {
  assert.equal(isRemovedReplica(ME, conf(['a', 'b', 'c']), 1, { epoch: 9, peers: [ME, 'a'] }), false);
  assert.equal(isRemovedReplica(ME, conf(['a', 'b', 'c'], { learners: [ME] }), 3, { epoch: 0, peers: [] }), false);
  assert.equal(isRemovedReplica(ME, conf(['a', 'b', 'c'], { votersOutgoing: [ME, 'a', 'b'] }), 3, { epoch: 0, peers: [] }), false);
});

test('a joining replica that has no configuration yet is kept unless a newer one leaves it out', () => {
  assert.equal(isRemovedReplica(ME, conf([]), 0, { epoch: 0, peers: [] }), false);
  assert.equal(isRemovedReplica(ME, conf([]), 0, { epoch: 3, peers: ['a', 'b', 'c'] }), true, 'a join that was never completed');
});
