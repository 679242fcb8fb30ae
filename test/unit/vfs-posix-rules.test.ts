/**
 * The pure POSIX rules of client/vfs: permissions, sticky directories,
 * chmod/chown/utimens rules, ownership of new inodes, names, timestamps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../../src/common/errno.js';
import { FileType } from '../../client/vfs/meta-api.js';
import {
  accessMaskForOpen,
  checkAccess,
  checkDeleteFromDirectory,
  checkSetTimes,
  chmodResult,
  chownResult,
  modeAfterWrite,
  F_OK,
  R_OK,
  W_OK,
  X_OK,
  ROOT_CALLER,
  type Caller,
} from '../../client/vfs/posix-permission.js';
import { applyUmask, checkMknodType, fileTypeOfMode, modeWithType, newInodeOwnership } from '../../client/vfs/posix-mode.js';
import { checkName, splitParent, splitPath } from '../../client/vfs/posix-name.js';
import { compareTimespec, resolveTimeSetting, shouldUpdateAtime, timespecFromMs, timespecToMs, utimensPermission, TIME_NOW, TIME_OMIT } from '../../client/vfs/posix-time.js';

const alice: Caller = { uid: 1000, gid: 1000, groups: [1000, 50] };
const bob: Caller = { uid: 1001, gid: 1001, groups: [] };
const carol: Caller = { uid: 1002, gid: 2000, groups: [1000] };
const file = (mode: number, uid = 1000, gid = 1000) => ({ mode: 0o100000 | mode, uid, gid });
const dir = (mode: number, uid = 1000, gid = 1000) => ({ mode: 0o040000 | mode, uid, gid });

test('access: exactly one class applies (owner, then group, then other)', () => {
  const f = file(0o046);
  assert.equal(checkAccess(f, alice, R_OK), Errno.EACCES, 'owner has no read even though others do');
  assert.equal(checkAccess(f, carol, R_OK), 0, 'group member via supplementary group reads');
  assert.equal(checkAccess(f, carol, W_OK), Errno.EACCES);
  assert.equal(checkAccess(f, bob, R_OK | W_OK), 0, 'other gets rw');
  assert.equal(checkAccess(f, bob, X_OK), Errno.EACCES);
  assert.equal(checkAccess(f, bob, F_OK), 0);
});

test('access: every mask against every permission digit for the owner', () => {
  for (let digit = 0; digit < 8; digit++) {
    for (let mask = 1; mask < 8; mask++) {
      const expected = (digit & mask) === mask ? 0 : Errno.EACCES;
      assert.equal(checkAccess(file(digit << 6), alice, mask), expected, `digit ${digit} mask ${mask}`);
    }
  }
});

test('access: root reads and writes anything, executes only with some x bit or a directory', () => {
  assert.equal(checkAccess(file(0o000, 5, 5), ROOT_CALLER, R_OK | W_OK), 0);
  assert.equal(checkAccess(file(0o600, 5, 5), ROOT_CALLER, X_OK), Errno.EACCES);
  assert.equal(checkAccess(file(0o001, 5, 5), ROOT_CALLER, X_OK), 0);
  assert.equal(checkAccess(dir(0o000, 5, 5), ROOT_CALLER, X_OK), 0);
});

test('sticky directory: only the entry owner, the directory owner or root may delete', () => {
  const tmp = dir(0o1777, 0, 0);
  const alicesFile = file(0o644, alice.uid, alice.gid);
  assert.equal(checkDeleteFromDirectory(tmp, alicesFile, alice), 0);
  assert.equal(checkDeleteFromDirectory(tmp, alicesFile, bob), Errno.EPERM);
  assert.equal(checkDeleteFromDirectory(tmp, alicesFile, ROOT_CALLER), 0);
  const bobsSticky = dir(0o1777, bob.uid, bob.gid);
  assert.equal(checkDeleteFromDirectory(bobsSticky, alicesFile, bob), 0, 'directory owner may');
  assert.equal(checkDeleteFromDirectory(dir(0o777, 0, 0), alicesFile, bob), 0, 'not sticky: write on the dir suffices');
  assert.equal(checkDeleteFromDirectory(dir(0o755, 0, 0), alicesFile, alice), Errno.EACCES, 'no write on the dir');
  assert.equal(checkDeleteFromDirectory(dir(0o1773, 0, 0), alicesFile, alice), 0);
  assert.equal(checkDeleteFromDirectory(dir(0o1776, 0, 0), alicesFile, alice), Errno.EACCES, 'search needed too');
});

test('chmod: owner or root only; setgid dropped for a caller outside the group', () => {
  assert.equal(chmodResult(file(0o644), bob, 0o777).errno, Errno.EPERM);
  assert.deepEqual(chmodResult(file(0o644), alice, 0o4755), { errno: 0, mode: 0o104755 });
  const foreignGroup = file(0o644, alice.uid, 3000);
  assert.equal(chmodResult(foreignGroup, alice, 0o2755).mode, 0o100755, 'setgid cleared: alice is not in 3000');
  assert.equal(chmodResult(foreignGroup, ROOT_CALLER, 0o2755).mode, 0o102755, 'root keeps it');
  assert.equal(chmodResult(dir(0o755), alice, 0o1777).mode, 0o041777, 'type bits kept');
});

test('chown: root anything; owner only to own groups; never give away; suid cleared on files', () => {
  assert.deepEqual(chownResult(file(0o4755), ROOT_CALLER, 5, 6), { errno: 0, uid: 5, gid: 6, mode: 0o100755 });
  assert.equal(chownResult(file(0o644), alice, bob.uid, -1).errno, Errno.EPERM, 'giving away is refused');
  assert.equal(chownResult(file(0o644), alice, -1, 50).errno, 0, 'to a supplementary group');
  assert.equal(chownResult(file(0o644), alice, -1, 3000).errno, Errno.EPERM, 'to a foreign group');
  assert.equal(chownResult(file(0o644), bob, -1, bob.gid).errno, Errno.EPERM, 'not the owner');
  assert.equal(chownResult(file(0o644), alice, alice.uid, -1).errno, 0, 'to itself is fine');
  assert.equal(chownResult(file(0o2755), alice, -1, 50).mode, 0o100755, 'setgid with group-exec cleared');
  assert.equal(chownResult(file(0o2745), alice, -1, 50).mode, 0o102745, 'setgid without group-exec kept (mandatory locking bit)');
  assert.equal(chownResult(dir(0o2755), alice, -1, 50).mode, 0o042755, 'directories keep their bits');
});

test('utimens: explicit times need ownership, "now" also write permission', () => {
  const othersWritable = file(0o666);
  assert.equal(checkSetTimes(othersWritable, bob, true), 0);
  assert.equal(checkSetTimes(othersWritable, bob, false), Errno.EPERM);
  assert.equal(checkSetTimes(file(0o644), bob, true), Errno.EACCES);
  assert.equal(checkSetTimes(file(0o000), alice, false), 0, 'owner');
  assert.equal(checkSetTimes(file(0o000, 5, 5), ROOT_CALLER, false), 0);
});

test('utimens: which pairs of now/omit/set need what (both now: write or owner; both omit: nothing; else owner)', () => {
  const set = { kind: 'set' as const, time: { sec: 1, nsec: 2 } };
  assert.equal(utimensPermission(TIME_NOW, TIME_NOW), 'owner-or-write', 'touch, utimensat(NULL)');
  assert.equal(utimensPermission(TIME_OMIT, TIME_OMIT), 'none');
  assert.equal(utimensPermission(TIME_NOW, TIME_OMIT), 'owner', 'touch -a');
  assert.equal(utimensPermission(TIME_OMIT, TIME_NOW), 'owner', 'touch -m');
  assert.equal(utimensPermission(set, TIME_NOW), 'owner');
  assert.equal(utimensPermission(TIME_OMIT, set), 'owner');
  assert.equal(utimensPermission(set, set), 'owner');
});

test('write by a non-root caller strips suid and executable sgid', () => {
  assert.equal(modeAfterWrite(0o106755, alice), 0o100755);
  assert.equal(modeAfterWrite(0o102745, alice), 0o102745);
  assert.equal(modeAfterWrite(0o106755, ROOT_CALLER), 0o106755);
});

test('open access masks', () => {
  const m = (flags: number) => accessMaskForOpen(flags, 3, 1, 2, 0o1000);
  assert.equal(m(0), R_OK);
  assert.equal(m(1), W_OK);
  assert.equal(m(2), R_OK | W_OK);
  assert.equal(m(0o1000), R_OK | W_OK, 'O_RDONLY|O_TRUNC needs write');
});

test('new inodes: owner is the caller; setgid directories pass group and bit on', () => {
  assert.deepEqual(newInodeOwnership(dir(0o755), bob, FileType.File, 0o644), { uid: bob.uid, gid: bob.gid, mode: 0o100644 });
  const shared = dir(0o2775, 0, 4000);
  assert.deepEqual(newInodeOwnership(shared, bob, FileType.Directory, 0o755), { uid: bob.uid, gid: 4000, mode: 0o042755 });
  assert.deepEqual(newInodeOwnership(shared, bob, FileType.File, 0o644), { uid: bob.uid, gid: 4000, mode: 0o100644 });
  assert.equal(newInodeOwnership(shared, bob, FileType.File, 0o2755).mode, 0o100755, 'bob is not in 4000: sgid dropped');
  assert.equal(newInodeOwnership(shared, ROOT_CALLER, FileType.File, 0o2755).mode, 0o102755);
});

test('modes and types round-trip; umask; mknod types', () => {
  for (const type of [FileType.Directory, FileType.File, FileType.Symlink, FileType.Fifo, FileType.Socket, FileType.Char, FileType.Block]) {
    assert.equal(fileTypeOfMode(modeWithType(type, 0o644)), type);
  }
  assert.equal(fileTypeOfMode(0o644), null);
  assert.equal(applyUmask(0o777, 0o022), 0o755);
  assert.equal(checkMknodType(FileType.Fifo, bob), 0);
  assert.equal(checkMknodType(FileType.Socket, bob), 0);
  assert.equal(checkMknodType(FileType.Char, bob), Errno.EPERM);
  assert.equal(checkMknodType(FileType.Block, ROOT_CALLER), 0);
  assert.equal(checkMknodType(FileType.Directory, ROOT_CALLER), Errno.EINVAL);
  assert.equal(checkMknodType(null, ROOT_CALLER), Errno.EINVAL);
});

test('names: 255 bytes of UTF-8 at most, no slash or NUL, not . or ..', () => {
  assert.equal(checkName('a'.repeat(255)), 0);
  assert.equal(checkName('a'.repeat(256)), Errno.ENAMETOOLONG);
  assert.equal(checkName('é'.repeat(127)), 0, '254 bytes');
  assert.equal(checkName('é'.repeat(128)), Errno.ENAMETOOLONG, '256 bytes in 128 characters');
  assert.equal(checkName(''), Errno.EINVAL);
  assert.equal(checkName('.'), Errno.EINVAL);
  assert.equal(checkName('..'), Errno.EINVAL);
  assert.equal(checkName('a/b'), Errno.EINVAL);
  assert.equal(checkName('a\0b'), Errno.EINVAL);
});

test('paths split into names', () => {
  assert.deepEqual(splitPath('/'), []);
  assert.deepEqual(splitPath('/a//b/./c/../d'), ['a', 'b', 'd']);
  assert.equal(splitPath('relative'), Errno.EINVAL);
  assert.equal(splitPath('/' + 'x'.repeat(256)), Errno.ENAMETOOLONG);
  assert.deepEqual(splitParent('/a/b'), { parent: ['a'], name: 'b' });
  assert.equal(splitParent('/'), Errno.EBUSY);
});

test('timespecs convert and compare; relatime rule', () => {
  assert.deepEqual(timespecFromMs(1500.25), { sec: 1, nsec: 500_250_000 });
  assert.equal(timespecToMs({ sec: 2, nsec: 7_900_000 }), 2007);
  assert.deepEqual(timespecFromMs(999.9999999), { sec: 1, nsec: 0 }, 'rounding carries');
  assert.equal(compareTimespec({ sec: 1, nsec: 2 }, { sec: 1, nsec: 3 }), -1);
  assert.equal(compareTimespec({ sec: 2, nsec: 0 }, { sec: 1, nsec: 9 }), 1);
  const t = (sec: number) => ({ sec, nsec: 0 });
  assert.equal(shouldUpdateAtime('relatime', { atime: t(10), mtime: t(20), ctime: t(5) }, t(30)), true, 'atime older than mtime');
  assert.equal(shouldUpdateAtime('relatime', { atime: t(30), mtime: t(20), ctime: t(20) }, t(40)), false, 'fresh atime kept');
  assert.equal(shouldUpdateAtime('relatime', { atime: t(30), mtime: t(20), ctime: t(20) }, t(30 + 86_400)), true, 'a day old');
  // The other modes: never, and always.
  for (const times of [{ atime: t(10), mtime: t(20), ctime: t(5) }, { atime: t(30), mtime: t(20), ctime: t(20) }]) {
    assert.equal(shouldUpdateAtime('noatime', times, t(30 + 86_400)), false, 'noatime');
    assert.equal(shouldUpdateAtime('strictatime', times, t(40)), true, 'strictatime');
  }
  assert.deepEqual(resolveTimeSetting({ kind: 'now' }, t(7)), t(7));
  assert.equal(resolveTimeSetting({ kind: 'omit' }, t(7)), undefined);
  assert.deepEqual(resolveTimeSetting({ kind: 'set', time: t(3) }, t(7)), t(3));
});

test('xattr namespaces: user follows permission bits, trusted is root only, security writes need ownership', async () => {
  const { checkXattrAccess } = await import('../../client/vfs/posix-xattr.js');
  const f = { ...file(0o644), type: FileType.File };
  assert.equal(checkXattrAccess(f, alice, 'user.a', true), 0);
  assert.equal(checkXattrAccess(f, bob, 'user.a', false), 0);
  assert.equal(checkXattrAccess(f, bob, 'user.a', true), Errno.EACCES);
  const link = { ...file(0o777), type: FileType.Symlink };
  assert.equal(checkXattrAccess(link, alice, 'user.a', true), Errno.EPERM);
  assert.equal(checkXattrAccess(link, alice, 'user.a', false), Errno.ENODATA);
  const sticky = { ...dir(0o1777, 0, 0), type: FileType.Directory };
  assert.equal(checkXattrAccess(sticky, alice, 'user.a', true), Errno.EPERM);
  assert.equal(checkXattrAccess(sticky, ROOT_CALLER, 'user.a', true), 0);
  assert.equal(checkXattrAccess(f, alice, 'trusted.t', true), Errno.EPERM);
  assert.equal(checkXattrAccess(f, alice, 'trusted.t', false), Errno.ENODATA);
  assert.equal(checkXattrAccess(f, ROOT_CALLER, 'trusted.t', true), 0);
  assert.equal(checkXattrAccess(f, bob, 'security.selinux', false), 0);
  assert.equal(checkXattrAccess(f, bob, 'security.selinux', true), Errno.EPERM);
  assert.equal(checkXattrAccess(f, alice, 'system.posix_acl_access', false), Errno.EOPNOTSUPP);
  assert.equal(checkXattrAccess(f, alice, 'nonsense', false), Errno.EOPNOTSUPP);
  assert.equal(checkXattrAccess(f, alice, '', false), Errno.EINVAL);
  assert.equal(checkXattrAccess(f, alice, 'user.' + 'x'.repeat(251), false), Errno.ERANGE);
});
