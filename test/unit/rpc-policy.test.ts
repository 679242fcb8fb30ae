import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { ManualClock } from '../../src/common/clock.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { Deadline, ExponentialBackoff, LeaderRedirect, LeaderTracker, RedirectError, decideRetry, isAddress, notLeader } from '../../src/rpc/index.js';

describe('backoff', () => {
  test('grows exponentially to the cap, with jitter inside its bounds, replayable from the seed', () => {
    const options = { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 };
    const a = new ExponentialBackoff(options, new SeededRandom(1));
    const b = new ExponentialBackoff(options, new SeededRandom(1));
    for (let retry = 0; retry < 40; retry++) {
      const base = Math.min(1_000, 100 * 2 ** retry);
      const delay = a.delayMs(retry);
      assert.ok(delay >= Math.floor(base * 0.8) && delay <= Math.ceil(base * 1.2), `retry ${retry}: ${delay}`);
      assert.equal(delay, b.delayMs(retry), 'same seed, same delays');
    }
    assert.throws(() => new ExponentialBackoff({ initialMs: 10, maxMs: 5 }, new SeededRandom(1)));
  });
});

describe('deadline', () => {
  test('per-attempt deadline never passes the overall one', () => {
    const clock = new ManualClock(1_000);
    const overall = Deadline.after(500, clock);
    assert.equal(overall.attempt(200, clock).atMs, 1_200);
    clock.advance(400);
    assert.equal(overall.attempt(200, clock).atMs, 1_500);
    assert.equal(overall.remainingMs(clock), 100);
    clock.advance(200);
    assert.equal(overall.isExpired(clock), true);
    assert.equal(overall.remainingMs(clock), 0);
  });
});

describe('retry policy', () => {
  const reply = (status: MetaStatusCode, leaderHint = '') => ({ kind: 'reply' as const, status, leaderHint });
  const grpc = (code: Status, details = '') => ({ kind: 'grpc-error' as const, code, details });

  test('decisions', () => {
    assert.deepEqual(decideRetry(reply(MetaStatusCode.OK), false), { action: 'return' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.NOT_FOUND), false), { action: 'return' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.TX_CONFLICT), true), { action: 'return' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.REDIRECTED, '10.0.0.1:6700'), false), { action: 'follow-leader', address: '10.0.0.1:6700' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.NOT_LEADER, 'host-b:6700'), false), { action: 'follow-leader', address: 'host-b:6700' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.REDIRECTED), false), { action: 'next-address' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.REDIRECTED, 'garbage'), false), { action: 'next-address' });
    assert.deepEqual(decideRetry(reply(MetaStatusCode.OVERLOAD), false), { action: 'same-address' });
    assert.deepEqual(decideRetry(grpc(Status.UNAVAILABLE), false), { action: 'next-address' });
    assert.deepEqual(decideRetry(grpc(Status.DEADLINE_EXCEEDED), true), { action: 'next-address' });
    assert.deepEqual(decideRetry(grpc(Status.DEADLINE_EXCEEDED), false), { action: 'fail' });
    assert.deepEqual(decideRetry(grpc(Status.RESOURCE_EXHAUSTED, 'too many calls'), false), { action: 'same-address' });
    assert.deepEqual(decideRetry(grpc(Status.RESOURCE_EXHAUSTED, 'Received message larger than max (5 vs 4)'), true), { action: 'fail' });
    for (const code of [Status.INVALID_ARGUMENT, Status.INTERNAL, Status.UNIMPLEMENTED, Status.CANCELLED, Status.PERMISSION_DENIED]) {
      assert.deepEqual(decideRetry(grpc(code), true), { action: 'fail' }, Status[code]);
    }
  });

  test('notLeader and addresses', () => {
    assert.deepEqual(notLeader('127.0.0.1:1'), { status: MetaStatusCode.REDIRECTED, leaderHint: '127.0.0.1:1' });
    assert.deepEqual(notLeader(), { status: MetaStatusCode.REDIRECTED, leaderHint: '' });
    assert.deepEqual(notLeader('no-port'), { status: MetaStatusCode.REDIRECTED, leaderHint: '' });
    let leader: string | undefined;
    const redirect = new LeaderRedirect(() => leader);
    assert.deepEqual(redirect.notLeader(), { status: MetaStatusCode.REDIRECTED, leaderHint: '' });
    leader = '10.0.0.2:6701';
    assert.deepEqual(redirect.notLeader(), { status: MetaStatusCode.REDIRECTED, leaderHint: '10.0.0.2:6701' });
    const error = redirect.error();
    assert.ok(error instanceof RedirectError);
    assert.equal(error.leaderHint, '10.0.0.2:6701');
    assert.equal(error.status, MetaStatusCode.REDIRECTED);
    assert.ok(isAddress('[::1]:80'));
    assert.ok(isAddress('mds-1.local:6700'));
    assert.ok(!isAddress('host:0'));
    assert.ok(!isAddress('host:70000'));
    assert.ok(!isAddress('a b:1'));
  });
});

describe('leader tracker', () => {
  test('rotates past failures, follows and learns hints, keeps the leader across setAddresses', () => {
    const tracker = new LeaderTracker(['a:1', 'b:1', 'c:1']);
    assert.equal(tracker.current(), 'a:1');
    tracker.failed('a:1');
    assert.equal(tracker.current(), 'b:1');
    tracker.failed('a:1');
    assert.equal(tracker.current(), 'b:1', 'a stale failure report does not move the tracker');
    assert.equal(tracker.follow('d:1'), true);
    assert.deepEqual(tracker.known(), ['a:1', 'b:1', 'c:1', 'd:1']);
    assert.equal(tracker.follow('d:1'), false);
    tracker.failed('d:1');
    assert.equal(tracker.current(), 'a:1', 'wraps around');
    tracker.succeeded('c:1');
    tracker.setAddresses(['x:1', 'c:1']);
    assert.equal(tracker.current(), 'c:1');
    tracker.setAddresses(['y:1']);
    assert.equal(tracker.current(), 'y:1');
    assert.throws(() => tracker.setAddresses([]));
    assert.throws(() => tracker.follow('bad'));
  });
});
