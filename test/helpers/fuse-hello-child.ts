/**
 * A tiny but real fuse-native file system, run as a CHILD process by tests
 * (node fuse-hello-child.js MOUNTPOINT): a root directory holding one
 * read-only file, hello.txt ("hello\n"). Prints "mounted MOUNTPOINT" once the
 * kernel accepted the mount; unmounts and exits on SIGTERM/SIGINT.
 *
 * It exists to test fuse-mount.ts with a real server that can be killed or
 * frozen; it is not a model for the real client (no large-IO options, no errno mapping).
 */
import { createRequire } from 'node:module';
import { HELLO_FILE_CONTENT, HELLO_FILE_NAME } from './fuse-hello.js';

interface Stat {
  mtime: Date;
  atime: Date;
  ctime: Date;
  nlink: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}
type Callback = (...args: unknown[]) => void;
interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}
interface FuseConstructor {
  new (mnt: string, ops: Record<string, Callback>, options: Record<string, unknown>): FuseInstance;
  readonly ENOENT: number;
}


const mountPoint = process.argv[2];
if (mountPoint === undefined) {
  process.stderr.write('usage: fuse-hello-child.js MOUNTPOINT\n');
  process.exit(2);
}

const Fuse = createRequire(import.meta.url)('fuse-native') as FuseConstructor;
const content = Buffer.from(HELLO_FILE_CONTENT);
const now = new Date();
const stat = (mode: number, size: number): Stat => ({ mtime: now, atime: now, ctime: now, nlink: 1, size, mode, uid: 0, gid: 0 });

const ops: Record<string, Callback> = {
  getattr: (p, cb) => {
    const done = cb as (err: number | null, st?: Stat) => void;
    if (p === '/') return done(null, stat(0o40755, 4096));
    if (p === `/${HELLO_FILE_NAME}`) return done(null, stat(0o100444, content.length));
    return done(Fuse.ENOENT);
  },
  readdir: (p, cb) => (cb as (err: number | null, names?: string[]) => void)(p === '/' ? null : Fuse.ENOENT, p === '/' ? [HELLO_FILE_NAME] : []),
  open: (p, _flags, cb) => (cb as (err: number, fd?: number) => void)(p === `/${HELLO_FILE_NAME}` ? 0 : Fuse.ENOENT, 42),
  release: (_p, _fd, cb) => (cb as (err: number) => void)(0),
  read: (_p, _fd, buf, len, pos, cb) => {
    const target = buf as Buffer;
    const start = Math.min(pos as number, content.length);
    const end = Math.min(start + (len as number), content.length);
    content.copy(target, 0, start, end);
    (cb as (bytes: number) => void)(end - start);
  },
};

const fuse = new Fuse(mountPoint, ops, { force: true, mkdir: false, fsname: 'curvefs-test-hello' });
fuse.mount((err) => {
  if (err) {
    process.stderr.write(`mount failed on ${mountPoint}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`mounted ${mountPoint}\n`);
});

let isStopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (isStopping) return;
    isStopping = true;
    fuse.unmount((err) => {
      if (err) process.stderr.write(`unmount failed: ${err.message}\n`);
      process.exit(err ? 1 : 0);
    });
  });
}
