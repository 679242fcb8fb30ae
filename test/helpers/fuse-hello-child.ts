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
const HELLO_PATH = `/${HELLO_FILE_NAME}`;

function stat(mode: number, size: number): Stat {
  return { mtime: now, atime: now, ctime: now, nlink: 1, size, mode, uid: 0, gid: 0 };
}

function getattr(p: string, cb: (err: number | null, st?: Stat) => void): void {
  if (p === '/') return cb(null, stat(0o40755, 4096));
  if (p === HELLO_PATH) return cb(null, stat(0o100444, content.length));
  return cb(Fuse.ENOENT);
}

function readdir(p: string, cb: (err: number | null, names?: string[]) => void): void {
  if (p === '/') cb(null, [HELLO_FILE_NAME]);
  else cb(Fuse.ENOENT);
}

function open(p: string, _flags: number, cb: (err: number, fd?: number) => void): void {
  if (p === HELLO_PATH) cb(0, 42);
  else cb(Fuse.ENOENT);
}

function release(_p: string, _fd: number, cb: (err: number) => void): void {
  cb(0);
}

function read(_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void): void {
  const start = Math.min(pos, content.length);
  const end = Math.min(start + len, content.length);
  content.copy(buf, 0, start, end);
  cb(end - start);
}

const ops = { getattr, readdir, open, release, read } as unknown as Record<string, Callback>;

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
