/**
 * Each FUSE request runs as ITS caller (client/fuse/native passes the FUSE
 * context's uid/gid/pid; fuse-caller.ts adds the supplementary groups), on
 * real kernel mounts served by CHILD processes (test/helpers/vfs-mount-child.ts,
 * in-memory metadata and data). This process (root) acts as users through
 * `setpriv`: uid 1000 ("alice", gid 1000), uid 1001 ("bob", gid 1001) and
 * uid 65534 ("nobody").
 *
 * Two mounts, the same tests:
 * - `kernel+vfs`: default_permissions on (the default): the kernel checks
 *   first, then the Vfs;
 * - `vfs-only`: --no-default-permissions: every check that reaches the file
 *   system is the Vfs's own (the kernel still enforces the sticky bit on
 *   unlink/rename itself, in may_delete, whatever the file system says).
 *
 * Covers: the mount options the kernel got; ownership of files, directories, FIFOs, symlinks created by a
 * non-root uid on a root mount; EACCES/EPERM where POSIX says (read, write,
 * create, search, chmod, chown, explicit times, access(2)); sticky
 * directories; setgid-directory inheritance; supplementary groups.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMountPoint, waitForMount, type MountPoint } from '../helpers/fuse-mount.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';

const CHILD = fileURLToPath(new URL('../helpers/vfs-mount-child.js', import.meta.url));
const MOUNT_TIMEOUT_MS = 15_000;
const SHELL_TIMEOUT_MS = 20_000;

interface User {
  readonly uid: number;
  readonly gid: number;
  readonly groups?: readonly number[];
}
const ALICE: User = { uid: 1000, gid: 1000 };
const BOB: User = { uid: 1001, gid: 1001 };
const NOBODY: User = { uid: 65534, gid: 65534 };
const ROOT_USER: User = { uid: 0, gid: 0 };

function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', command], { cwd: '/', timeout: SHELL_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs `command` as `user`; the output ends with "rc=N". */
function as(user: User, command: string): Promise<string> {
  const groups = user.groups === undefined || user.groups.length === 0 ? '--clear-groups' : `--groups=${user.groups.join(',')}`;
  const quoted = command.replace(/'/g, `'\\''`);
  return sh(`setpriv --reuid=${user.uid} --regid=${user.gid} ${groups} bash -c '( ${quoted} ) 2>&1; echo "rc=$?"'`);
}

const OK = /^rc=0\n$/;
const DENIED = /Permission denied\nrc=[1-9]\n$/;
const NOT_PERMITTED = /Operation not permitted\nrc=[1-9]\n$/;

for (const config of [
  { name: 'kernel+vfs', args: [] as string[] },
  { name: 'vfs-only', args: ['--no-default-permissions'] },
]) {
  describe(`callers on a ${config.name} mount`, () => {
    let mountPoint: MountPoint;
    let child: ProcessHandle;
    let mnt: string;

    /** A fresh directory made by root with `mode` (and owner), for one test. */
    async function dir(name: string, mode: number, owner?: { uid: number; gid: number }): Promise<string> {
      const dirPath = path.join(mnt, name);
      await fs.promises.mkdir(dirPath);
      if (owner !== undefined) await fs.promises.chown(dirPath, owner.uid, owner.gid);
      await fs.promises.chmod(dirPath, mode);
      return dirPath;
    }

    before(async () => {
      mountPoint = await createMountPoint(`caller-${config.name.replace('+', '-')}`);
      mnt = mountPoint.path;
      child = await startProcess({
        name: `vfs-mount-child ${config.name}`,
        command: process.execPath,
        args: [CHILD, mnt, 'memory', '--allow-other', ...config.args],
        ready: { kind: 'line', pattern: /^mounted / },
        readyTimeoutMs: MOUNT_TIMEOUT_MS,
        stopTimeoutMs: 10_000,
      });
      await waitForMount(mnt, MOUNT_TIMEOUT_MS);
      // The root of a fresh file system: like any root mount, 0755 root:root.
      await fs.promises.chmod(mnt, 0o755);
    });

    after(async () => {
      await child?.stop();
      await mountPoint?.cleanup();
    });

    test('the kernel got our options: large requests through fsname, default_permissions as configured', async () => {
      const line = (await fs.promises.readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === mnt);
      assert.ok(line !== undefined, `${mnt} in mountinfo`);
      const superOptions = line.split(' - ')[1]!.split(' ')[2]!.split(',');
      assert.ok(superOptions.includes('max_read=1048576'), line);
      assert.equal(superOptions.includes('default_permissions'), config.args.length === 0, line);
      assert.ok(superOptions.includes('allow_other'), line);
    });

    test('what a non-root uid creates is owned by its uid and gid', async () => {
      const shared = await dir('own', 0o777);
      const made = await as(ALICE, `cd ${shared} && touch f && echo x > w && mkdir d && mkfifo p && ln -s f l && ln f h && echo done`);
      assert.match(made, /^done\nrc=0\n$/);
      for (const name of ['f', 'w', 'd', 'p', 'l', 'h']) {
        const st = await fs.promises.lstat(path.join(shared, name));
        assert.equal(st.uid, ALICE.uid, `${name} uid`);
        assert.equal(st.gid, ALICE.gid, `${name} gid`);
      }
      assert.equal((await fs.promises.stat(path.join(shared, 'd'))).mode & 0o7777, 0o755 & ~0o022, 'mode from mkdir(2) and the umask');
      await fs.promises.writeFile(path.join(shared, 'by-root'), '');
      assert.equal((await fs.promises.stat(path.join(shared, 'by-root'))).uid, 0);
      assert.match(await as(ALICE, `mkdir ${mnt}/at-root`), DENIED, 'the 0755 root directory refuses alice');
    });

    test('EACCES and EPERM where POSIX says, for a non-root caller', async () => {
      const home = await dir('perm', 0o755);
      await fs.promises.writeFile(path.join(home, 'secret'), 'root only');
      await fs.promises.chmod(path.join(home, 'secret'), 0o600);
      await fs.promises.writeFile(path.join(home, 'public'), 'everyone\n');
      await fs.promises.chmod(path.join(home, 'public'), 0o644);
      const closed = await dir('closed', 0o700);
      await fs.promises.writeFile(path.join(closed, 'inside'), 'x');
      await fs.promises.chmod(path.join(closed, 'inside'), 0o644);
      const unsearchable = await dir('unsearchable', 0o776);
      await fs.promises.writeFile(path.join(unsearchable, 'f'), 'x');
      await fs.promises.chmod(path.join(unsearchable, 'f'), 0o666);

      assert.match(await as(NOBODY, `cat ${home}/public`), /^everyone\nrc=0\n$/);
      assert.match(await as(NOBODY, `cat ${home}/secret`), DENIED, 'read without r');
      assert.match(await as(NOBODY, `echo more >> ${home}/public`), DENIED, 'write without w');
      assert.match(await as(NOBODY, `: > ${home}/public`), DENIED, 'O_TRUNC without w');
      assert.match(await as(NOBODY, `touch ${home}/new`), DENIED, 'create in a directory without w');
      assert.match(await as(NOBODY, `mkdir ${home}/sub`), DENIED, 'mkdir in a directory without w');
      assert.match(await as(NOBODY, `rm -f ${home}/public`), DENIED, 'unlink in a directory without w');
      assert.match(await as(NOBODY, `ls ${closed}`), DENIED, 'list a directory without r');
      assert.match(await as(NOBODY, `cat ${closed}/inside`), DENIED, 'a path through a directory without x');
      assert.match(await as(NOBODY, `cat ${unsearchable}/f`), DENIED, 'rw- is not enough to search');
      assert.match(await as(NOBODY, `chmod 777 ${home}/public`), NOT_PERMITTED, 'chmod needs ownership');
      assert.match(await as(NOBODY, `chown 65534 ${home}/public`), NOT_PERMITTED, 'chown needs root');
      assert.match(await as(NOBODY, `touch -c -d 2001-01-01 ${home}/public`), NOT_PERMITTED, 'explicit times need ownership');
      assert.match(await as(NOBODY, `test -r ${home}/public && ! test -w ${home}/public && ! test -r ${home}/secret && echo checked`), /^checked\nrc=0\n$/, 'access(2)');
      // Nothing changed.
      assert.equal(await fs.promises.readFile(path.join(home, 'public'), 'utf8'), 'everyone\n');
      assert.equal((await fs.promises.stat(path.join(home, 'public'))).mode & 0o7777, 0o644);
      assert.deepEqual((await fs.promises.readdir(home)).sort(), ['public', 'secret']);
      // The owner may do what others may not, on its own file.
      const open = await dir('alices', 0o777);
      assert.match(await as(ALICE, `cd ${open} && echo mine > f && chmod 600 f && touch -d 2001-01-01 f && cat f`), /^mine\nrc=0\n$/);
      assert.match(await as(BOB, `cat ${open}/f`), DENIED);
      assert.match(await as(BOB, `chgrp 1001 ${open}/f`), NOT_PERMITTED, 'chgrp of another user\'s file');
      assert.match(await as({ ...ALICE, groups: [4242] }, `chgrp 4242 ${open}/f`), OK, 'chgrp to one of the owner\'s groups');
      assert.match(await as(ALICE, `chgrp 4343 ${open}/f`), NOT_PERMITTED, 'chgrp to a group the owner is not in');
      assert.equal((await fs.promises.stat(path.join(open, 'f'))).gid, 4242);
    });

    test('sticky directory: only the entry\'s owner, the directory\'s owner or root may unlink or rename', async () => {
      const sticky = await dir('sticky', 0o1777);
      assert.match(await as(ALICE, `echo a > ${sticky}/alices && echo b > ${sticky}/alices2`), OK);
      assert.match(await as(BOB, `echo b > ${sticky}/bobs`), OK);
      assert.match(await as(BOB, `rm -f ${sticky}/alices`), NOT_PERMITTED);
      assert.match(await as(BOB, `mv ${sticky}/alices ${sticky}/stolen`), NOT_PERMITTED);
      assert.match(await as(BOB, `mv -T ${sticky}/bobs ${sticky}/alices`), NOT_PERMITTED, 'replacing another user\'s entry');
      assert.equal(await fs.promises.readFile(path.join(sticky, 'alices'), 'utf8'), 'a\n');
      assert.match(await as(ALICE, `mv ${sticky}/alices2 ${sticky}/renamed && rm ${sticky}/alices`), OK, 'the owner may');
      assert.match(await as(ROOT_USER, `rm ${sticky}/bobs`), OK, 'root may');
      // The directory's owner may remove anyone's entry.
      const owned = await dir('sticky-owned', 0o1777, { uid: BOB.uid, gid: BOB.gid });
      assert.match(await as(ALICE, `touch ${owned}/a`), OK);
      assert.match(await as(BOB, `rm -f ${owned}/a`), OK);
      // Without the sticky bit anyone with write permission may.
      const plain = await dir('plain', 0o777);
      assert.match(await as(ALICE, `touch ${plain}/a`), OK);
      assert.match(await as(BOB, `rm -f ${plain}/a`), OK);
    });

    test('setgid directory: new entries take its group, new directories its setgid bit', async () => {
      const sg = await dir('sg', 0o2777, { uid: 0, gid: 4242 });
      assert.match(await as(ALICE, `cd ${sg} && touch f && mkdir d && mkfifo p && mkdir d/deeper`), OK);
      for (const name of ['f', 'd', 'p', 'd/deeper']) {
        const st = await fs.promises.stat(path.join(sg, name));
        assert.equal(st.uid, ALICE.uid, `${name} uid`);
        assert.equal(st.gid, 4242, `${name} gid from the setgid directory`);
      }
      assert.equal((await fs.promises.stat(path.join(sg, 'd'))).mode & 0o2000, 0o2000, 'a new directory inherits S_ISGID');
      assert.equal((await fs.promises.stat(path.join(sg, 'd', 'deeper'))).mode & 0o2000, 0o2000, 'and passes it on');
      assert.equal((await fs.promises.stat(path.join(sg, 'f'))).mode & 0o2000, 0, 'a new file does not');
      const notSg = await dir('not-sg', 0o777, { uid: 0, gid: 4242 });
      assert.match(await as(ALICE, `touch ${notSg}/f`), OK);
      assert.equal((await fs.promises.stat(path.join(notSg, 'f'))).gid, ALICE.gid, 'without setgid: the caller\'s gid');
    });

    test('supplementary groups grant group permissions', async () => {
      const team = await dir('team', 0o770, { uid: 0, gid: 5555 });
      assert.match(await as({ ...ALICE, groups: [17, 5555] }, `touch ${team}/f && ls ${team}`), /^f\nrc=0\n$/);
      assert.equal((await fs.promises.stat(path.join(team, 'f'))).gid, ALICE.gid, 'group membership does not set the new file\'s gid');
      assert.match(await as(ALICE, `touch ${team}/g`), DENIED, 'without the group');
      assert.match(await as({ ...BOB, groups: [17] }, `ls ${team}`), DENIED, 'with other groups only');
    });
  });
}
