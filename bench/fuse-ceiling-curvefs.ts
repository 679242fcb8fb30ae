/**
 * The fastest any file system served through OUR FUSE binding can be
 * (client/fuse/fuse-native-binding.ts over the patched addon), at a given
 * request size: a file system that does no work (writes are discarded, reads
 * return zeros, files are a name -> size map) measured with dd in a child
 * process (this process only serves FUSE: it must never touch its own mount).
 *
 *   node dist/bench/fuse-ceiling-curvefs.js [--io-bytes 1048576] [--mib 1024] [--readahead-bytes N] [--repeat 2]
 *
 * --io-bytes is the request size asked for (131072 = libfuse 2.9's own
 * limit, 1048576 = 256 pages, what the mount asks for by default);
 * --readahead-bytes sets the mount's bdi read_ahead_kb (default: the request
 * size). Prints a table of MiB/s and what the addon negotiated and saw:
 * max_pages, the largest READ and WRITE requests and their counts.
 * Needs root, /dev/fuse, libfuse2 and fusermount.
 */
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fuse, type FuseOperations, type FuseStat } from '../client/fuse/fuse-native-binding.js';
import { setKernelReadAhead } from '../client/fuse/fuse-mount.js';
import { FUSE_MOUNT_DEFAULTS, fuseNativeOptions } from '../client/fuse/fuse-options.js';

const MiB = 1 << 20;
const ENOENT = -2;
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const IO_BYTES = option('--io-bytes', MiB);
const TOTAL_MIB = option('--mib', 1024);
const READAHEAD_BYTES = option('--readahead-bytes', IO_BYTES);
const REPEAT = option('--repeat', 2);
const DD_TIMEOUT_MS = 300_000;

function sh(command: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) =>
    execFile('/bin/bash', ['-c', command], { timeout: DD_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, _out, stderr) =>
      error ? reject(new Error(`${command}: ${error.message} ${stderr}`)) : resolve(Number(process.hrtime.bigint() - started) / 1e9),
    ),
  );
}

/** The child: measures the parent's mount with dd and reports MiB/s on its IPC channel. */
async function measure(mnt: string): Promise<void> {
  const rows: [string, number][] = [];
  for (let i = 0; i < REPEAT; i++) {
    const w = await sh(`dd if=/dev/zero of=${mnt}/seq bs=1M count=${TOTAL_MIB} conv=fsync status=none`);
    rows.push([`write ${i + 1}`, TOTAL_MIB / w]);
    const r = await sh(`dd if=${mnt}/seq of=/dev/null bs=1M status=none`);
    rows.push([`read ${i + 1}`, TOTAL_MIB / r]);
  }
  process.send!(rows);
}

function serve(): void {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'fuse-ceiling-curvefs-'));
  const now = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
  const stat = (mode: number, size: number): FuseStat => ({ mode, uid: 0, gid: 0, size, dev: 0, nlink: 1, ino: 0, rdev: 0, blksize: 4096, blocks: Math.ceil(size / 512), atime: now, mtime: now, ctime: now });
  const files = new Map<string, number>();
  const ops: FuseOperations = {
    getattr: (_c, p: string, cb) => {
      if (p === '/') return cb(0, stat(0o40755, 4096));
      const size = files.get(p);
      return size === undefined ? cb(ENOENT) : cb(0, stat(0o100644, size));
    },
    fgetattr: (_c, p: string, _fh, cb) => {
      const size = files.get(p);
      return size === undefined ? cb(ENOENT) : cb(0, stat(0o100644, size));
    },
    readdir: (_c, _p, cb) => cb(0, [...files.keys()].map((k) => k.slice(1))),
    create: (_c, p: string, _mode, cb) => {
      files.set(p, 0);
      cb(0, 1);
    },
    open: (_c, p: string, _flags, cb) => (files.has(p) ? cb(0, 1) : cb(ENOENT)),
    release: (_c, _p, _fh, cb) => cb(0),
    flush: (_c, _p, _fh, cb) => cb(0),
    fsync: (_c, _p, _d, _fh, cb) => cb(0),
    truncate: (_c, p: string, size: number, cb) => {
      files.set(p, size);
      cb(0);
    },
    ftruncate: (_c, p: string, _fh, size: number, cb) => {
      files.set(p, size);
      cb(0);
    },
    utimens: (...a) => (a[a.length - 1] as (e: number) => void)(0),
    unlink: (_c, p: string, cb) => {
      files.delete(p);
      cb(0);
    },
    write: (_c, p: string, _fh, _buf, len: number, pos: number, cb) => {
      if (pos + len > (files.get(p) ?? 0)) files.set(p, pos + len);
      cb(len);
    },
    read: (_c, p: string, _fh, buf: Buffer, len: number, pos: number, cb) => {
      const n = Math.max(0, Math.min(len, (files.get(p) ?? 0) - pos));
      buf.fill(0, 0, n);
      cb(n);
    },
  };
  const options = fuseNativeOptions({ ...FUSE_MOUNT_DEFAULTS, fsName: 'ceiling', ioRequestBytesMax: IO_BYTES, readAheadBytes: READAHEAD_BYTES });
  const fuse = new Fuse(mnt, ops, options);
  const done = (code: number): void =>
    fuse.unmount(() => {
      fs.rmSync(mnt, { recursive: true, force: true });
      process.exit(code);
    });
  fuse.mount((error) => {
    if (error) {
      console.error('mount failed:', error.message);
      process.exit(2);
    }
    setKernelReadAhead(mnt, READAHEAD_BYTES, undefined).then(() => {
      const child = fork(process.argv[1]!, [...args, '--child', mnt], { stdio: 'inherit' });
      child.on('message', (rows: [string, number][]) => {
        const io = fuse.ioStats();
        console.log(`| our binding, do-nothing fs, -o max_write=max_read=${IO_BYTES}, read-ahead ${READAHEAD_BYTES} | value |\n|---|---|`);
        for (const [name, mibs] of rows) console.log(`| seq ${name} dd bs=1M ${TOTAL_MIB} MiB (MiB/s) | ${mibs.toFixed(1)} |`);
        console.log(`| kernel 7.${io.kernelMinor} offers max_pages / max_pages sent / max_write | ${io.kernelOffersMaxPages} / ${io.maxPages} / ${io.maxWrite} |`);
        console.log(`| WRITE requests: count, largest, mean bytes | ${io.writeRequests}, ${io.writeMax}, ${Math.round(io.writeBytes / Math.max(1, io.writeRequests))} |`);
        console.log(`| READ requests: count, largest, mean bytes | ${io.readRequests}, ${io.readMax}, ${Math.round(io.readBytes / Math.max(1, io.readRequests))} |`);
      });
      child.on('exit', (code) => done(code === 0 ? 0 : 1));
    }, () => done(1));
  });
}

const childAt = args.indexOf('--child');
if (childAt >= 0) {
  measure(args[childAt + 1]!).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  serve();
}
