/**
 * The FUSE caller's supplementary groups (client/fuse/fuse-caller.ts):
 * /proc/<pid>/status parsing, the lazy read, the per-pid cache and its TTL,
 * and the fsuid/fsgid cross-check that keeps a reused pid's groups out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { CallerGroups, parseProcStatus } from '../../client/fuse/fuse-caller.js';
import { isGroupMember } from '../../client/vfs/posix-permission.js';

const STATUS = 'Name:\tbash\nPid:\t77\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nFDSize:\t64\nGroups:\t5 27 100 \n';

test('parseProcStatus reads fsuid, fsgid and the groups; malformed text gives null', () => {
  assert.deepEqual(parseProcStatus(STATUS), { fsuid: 1000, fsgid: 100, groups: [5, 27, 100] });
  assert.deepEqual(parseProcStatus(STATUS.replace('Groups:\t5 27 100 ', 'Groups:\t')), { fsuid: 1000, fsgid: 100, groups: [] });
  assert.equal(parseProcStatus('Name:\tx\n'), null);
  assert.equal(parseProcStatus(STATUS.replace('Uid:\t1000\t1000\t1000\t1000', 'Uid:\t1000')), null);
  assert.equal(parseProcStatus(STATUS.replace('27', 'x')), null);
});

test('the real /proc/self/status parses to this process credentials', () => {
  const groups = new CallerGroups({ clock: new ManualClock(0) });
  const uid = process.getuid!();
  const gid = process.getgid!();
  const mine = [...groups.groupsOf(process.pid, uid, gid)].sort((a, b) => a - b);
  const expected = [...new Set(process.getgroups!())].filter((g) => g !== gid || mine.includes(g)).sort((a, b) => a - b);
  assert.deepEqual(mine, expected);
});

test('groups are read lazily, cached per pid for the TTL, and dropped when fsuid/fsgid do not match', () => {
  const clock = new ManualClock(0);
  const texts = new Map<number, string>([[77, STATUS]]);
  const groups = new CallerGroups({ clock, ttlMs: 1000, readStatus: (pid) => texts.get(pid) ?? null });
  const caller = groups.callerOf({ uid: 1000, gid: 100, pid: 77 });
  assert.equal(caller.uid, 1000);
  assert.equal(groups.reads, 0, 'nothing read until a decision needs the groups');
  assert.ok(isGroupMember(caller, 100), 'the primary gid needs no read');
  assert.equal(groups.reads, 0);
  assert.ok(isGroupMember(caller, 27));
  assert.ok(!isGroupMember(caller, 28));
  assert.equal(groups.reads, 1, 'one read per caller object');
  assert.ok(isGroupMember(groups.callerOf({ uid: 1000, gid: 100, pid: 77 }), 5));
  assert.equal(groups.reads, 1, 'cached for the pid');
  clock.advance(1001);
  texts.set(77, STATUS.replace('5 27 100', '100'));
  assert.ok(!isGroupMember(groups.callerOf({ uid: 1000, gid: 100, pid: 77 }), 27), 'reread after the TTL');
  assert.equal(groups.reads, 2);
  assert.deepEqual(groups.groupsOf(77, 1001, 100), [], 'another fsuid: a reused pid, no groups');
  assert.deepEqual(groups.groupsOf(78, 1000, 100), [], 'gone: no groups (can only refuse)');
  assert.deepEqual(groups.groupsOf(0, 0, 0), [], 'the kernel itself');
});
