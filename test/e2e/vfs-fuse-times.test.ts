/**
 * Timestamps through a REAL kernel mount (served by a CHILD process,
 * test/helpers/vfs-mount-child.ts, in-memory metadata and data): the native
 * binding carries each time as (seconds, nanoseconds) with UTIME_NOW and
 * UTIME_OMIT kept apart (client/fuse/native/curvefs-fuse.c, patch 4), so
 * `touch -a` / `touch -m` change one time only, explicit times keep their
 * nanoseconds, and the utimensat permission rule holds for a non-owner
 * (uid 65534 via `setpriv`).
 *
 * Two mounts, the same tests: `kernel+vfs` (default_permissions: the kernel
 * checks first) and `vfs-only` (--no-default-permissions: the Vfs's own
 * check, client/vfs/posix-time.ts utimensPermission, decides).
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
const NOBODY = 65534;
const UTIME_NOW = 2 ** 30 - 1;
const UTIME_OMIT = 2 ** 30 - 2;
/** Times set to "now" must be this close to the test's own clock (same machine). */
const NOW_SLACK_NS = 10_000_000_000n;

function sh(command: string, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', command], { cwd: '/', timeout: SHELL_TIMEOUT_MS, killSignal: 'SIGKILL', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function asNobody(command: string): Promise<string> {
  const quoted = command.replace(/'/g, `'\\''`);
  return sh(`setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups bash -c '( ${quoted} ) 2>&1; echo "rc=$?"'`);
}

/**
 * utimensat(AT_FDCWD, file, times, 0) as nobody, through perl's syscall (no
 * shell tool passes UTIME_NOW / UTIME_OMIT for each time as asked); returns errno.
 */
async function utimensatAsNobody(file: string, atime: [number, number], mtime: [number, number]): Promise<number> {
  const script = 'require "syscall.ph"; my $t = pack("q4", @ARGV[1..4]); my $r = syscall(SYS_utimensat(), -100, $ARGV[0], $t, 0); print $r == 0 ? 0 : $! + 0';
  const out = await sh(`setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups perl -e '${script}' ${file} ${atime.join(' ')} ${mtime.join(' ')}`);
  return Number(out.trim());
}

interface Times {
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

async function times(file: string): Promise<Times> {
  const st = await fs.promises.stat(file, { bigint: true });
  return { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function assertNow(ns: bigint, what: string): void {
  const now = BigInt(Date.now()) * 1_000_000n;
  assert.ok(ns > now - NOW_SLACK_NS && ns <= now + NOW_SLACK_NS, `${what} ${ns} is now (${now})`);
}

for (const config of [
  { name: 'kernel+vfs', args: [] as string[] },
  { name: 'vfs-only', args: ['--no-default-permissions'] },
]) {
  describe(`timestamps on a ${config.name} mount`, () => {
    let mountPoint: MountPoint;
    let child: ProcessHandle;
    let mnt: string;

    before(async () => {
      mountPoint = await createMountPoint(`times-${config.name.replace('+', '-')}`);
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
      await fs.promises.chmod(mnt, 0o755);
    });

    after(async () => {
      await child?.stop();
      await mountPoint?.cleanup();
    });

    test('touch -d @sec.nsec sets both times to the nanosecond; stat %x/%y show them', async () => {
      const file = path.join(mnt, 'exact');
      await fs.promises.writeFile(file, 'x');
      await sh(`touch -d @1234567890.123456789 ${file}`);
      const st = await times(file);
      assert.equal(st.atimeNs, 1_234_567_890_123_456_789n);
      assert.equal(st.mtimeNs, 1_234_567_890_123_456_789n);
      const shown = await sh(`stat -c '%x|%y' ${file}`, { TZ: 'UTC' });
      assert.equal(shown.trim(), '2009-02-13 23:31:30.123456789 +0000|2009-02-13 23:31:30.123456789 +0000');
      // Each time on its own, distinct nanoseconds (fuse-native sent the access time twice).
      await sh(`touch -a -d @1000000000.000000001 ${file} && touch -m -d @2000000000.999999999 ${file}`);
      const split = await times(file);
      assert.equal(split.atimeNs, 1_000_000_000_000_000_001n);
      assert.equal(split.mtimeNs, 2_000_000_000_999_999_999n);
      // readdir's stats carry the same layout.
      const listed = await sh(`TZ=UTC ls --full-time ${mnt} | grep ' exact$'`);
      assert.match(listed, /2033-05-18 03:33:20\.999999999 \+0000 exact/);
    });

    test('touch -a changes only atime, touch -m only mtime; ctime advances on every change', async () => {
      const file = path.join(mnt, 'one-at-a-time');
      await fs.promises.writeFile(file, 'x');
      await sh(`touch -d @1000000000.5 ${file}`);
      const base = await times(file);
      assert.equal(base.atimeNs, 1_000_000_000_500_000_000n);

      await sh(`touch -a ${file}`);
      const afterA = await times(file);
      assertNow(afterA.atimeNs, 'atime after touch -a');
      assert.equal(afterA.mtimeNs, base.mtimeNs, 'touch -a leaves mtime');
      assert.ok(afterA.ctimeNs > base.ctimeNs, 'touch -a moves ctime');

      await sh(`touch -m ${file}`);
      const afterM = await times(file);
      assertNow(afterM.mtimeNs, 'mtime after touch -m');
      assert.equal(afterM.atimeNs, afterA.atimeNs, 'touch -m leaves atime');
      assert.ok(afterM.ctimeNs > afterA.ctimeNs, 'touch -m moves ctime');

      // Every other change moves ctime too: explicit times, chmod, chown, write, link, rename.
      // link and rename answer no fresh attributes the kernel keeps (as observed
      // on Linux 6.18 with libfuse 2.9): their new ctime shows once the kernel's
      // attribute cache (attr_timeout, 1 s) expires, so those wait up to 3 s.
      let last = afterM.ctimeNs;
      for (const [what, command, isFreshAtOnce] of [
        ['touch -d', `touch -d @1500000000 ${file}`, true],
        ['chmod', `chmod 600 ${file}`, true],
        ['chown', `chown ${NOBODY} ${file}`, true],
        ['write', `echo more >> ${file}`, true],
        ['link', `ln ${file} ${file}.link`, false],
        ['rename', `mv ${file}.link ${file}.moved`, false],
      ] as const) {
        await sh(command);
        let now = await times(file);
        for (let i = 0; !isFreshAtOnce && now.ctimeNs <= last && i < 30; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          now = await times(file);
        }
        assert.ok(now.ctimeNs > last, `${what} moves ctime (${now.ctimeNs} > ${last})`);
        assertNow(now.ctimeNs, `ctime after ${what}`);
        last = now.ctimeNs;
      }
    });

    test('a non-owner with write permission may set both times to now, nothing else', async () => {
      const file = path.join(mnt, 'shared');
      await fs.promises.writeFile(file, 'x');
      await fs.promises.chmod(file, 0o666);
      await sh(`touch -d @1000000000 ${file}`);
      const base = await times(file);

      assert.equal(await utimensatAsNobody(file, [0, UTIME_NOW], [0, UTIME_NOW]), 0, 'both UTIME_NOW');
      const touched = await times(file);
      assertNow(touched.atimeNs, 'atime');
      assertNow(touched.mtimeNs, 'mtime');
      assert.ok(touched.ctimeNs > base.ctimeNs);
      assert.match(await asNobody(`touch ${file}`), /^rc=0\n$/, 'touch (times NULL)');

      const EPERM = 1;
      assert.equal(await utimensatAsNobody(file, [1, 0], [1, 0]), EPERM, 'explicit times');
      assert.equal(await utimensatAsNobody(file, [1, 0], [0, UTIME_NOW]), EPERM, 'one explicit time');
      assert.equal(await utimensatAsNobody(file, [0, UTIME_NOW], [0, UTIME_OMIT]), EPERM, 'now with omit is not "both now"');
      assert.equal(await utimensatAsNobody(file, [0, UTIME_OMIT], [0, UTIME_OMIT]), 0, 'both omitted: nothing to check');
      assert.match(await asNobody(`touch -d @1 ${file}`), /Operation not permitted\nrc=1\n$/);
      assert.match(await asNobody(`touch -a ${file}`), /Operation not permitted\nrc=1\n$/);
      const after = await times(file);
      assert.ok(after.mtimeNs >= touched.mtimeNs && after.atimeNs >= touched.atimeNs, 'the refusals changed nothing back');

      // Without write permission even "now" is refused (EACCES); the owner may do anything.
      await fs.promises.chmod(file, 0o644);
      assert.equal(await utimensatAsNobody(file, [0, UTIME_NOW], [0, UTIME_NOW]), 13, 'EACCES');
      await fs.promises.chown(file, NOBODY, NOBODY);
      await fs.promises.chmod(file, 0o400);
      assert.equal(await utimensatAsNobody(file, [7, 8], [0, UTIME_OMIT]), 0, 'the owner sets explicit times');
      assert.equal((await times(file)).atimeNs, 7_000_000_008n);
    });
  });
}
