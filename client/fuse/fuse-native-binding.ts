/**
 * The JavaScript half of our FUSE binding: a trimmed TypeScript port of
 * fuse-native 2.2.6's index.js (MIT, Mathias Buus and contributors) driving
 * the patched native part in client/fuse/native/ (see the header of
 * curvefs-fuse.c for what was changed and why).
 *
 * What the patch adds: every handler receives the request's caller, so each
 * operation in `FuseOperations` is called as `op(context, ...args, cb)` with
 * `context = { uid, gid, pid }` from fuse_get_context().
 *
 * What behaves as in fuse-native: the handler table, the opcode numbers, the
 * signalling back to the FUSE thread on the next tick, the reply shapes
 * (negative errno; read/write answer their count as the first argument;
 * statfs as 11 uint32s),
 * the "-o a,b,c" mount option string (fsname passed through unescaped, which
 * fuse-options.ts relies on), and unmounting with `fusermount -uz`.
 *
 * What differs, on purpose:
 * - fgetattr goes to `ops.fgetattr(path, fh)` (fuse-native sent it to
 *   getattr(path), dropping the handle: fstat of a renamed or hidden file
 *   would stat the wrong name);
 * - opendir gets the real open flags (fuse-native handed it info->fh);
 * - getxattr/listxattr answer ERANGE when the kernel's buffer is too small
 *   (fuse-native copied a truncated value and reported the full length);
 * - times keep their nanoseconds (native patch 4): a stat is 21 uint32s
 *   (mode, uid, gid, size lo/hi, dev, nlink, ino, rdev, blksize, blocks
 *   lo/hi, then atime, mtime, ctime each as seconds lo/hi and nanoseconds;
 *   fuse-native sent 18 with milliseconds), and utimens is called as
 *   `utimens(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec)` where a
 *   nanoseconds value may be UTIME_NOW or UTIME_OMIT (fuse-native passed
 *   the access time twice in ms, "now" and "omit" alike as 1073 ms);
 * - requests may be larger than 128 KiB (native patch 5): `ioRequestBytes`
 *   asks the kernel for that many bytes per READ/WRITE (FUSE_MAX_PAGES),
 *   and `ioStats()` tells what was negotiated and seen;
 * - trimmed: the per-op timeouts (we never time out: a flush to a slow store
 *   may take long), macOS options, `mkdir`/`force` (fuse-mount.ts checks and
 *   clears the mount point itself), nanoresource, and the errno table.
 *
 * The addon is loaded from the node-gyp build directory
 * (client/fuse/native/build/Release/curvefs_fuse.node, built by
 * `npm run build:native`); if it is missing the mount fails saying so.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../../src/common/assert.js';
import { Errno } from '../../src/common/errno.js';
import { CurveError } from '../../src/common/errors.js';

/** Who made a FUSE request (fuse_get_context() on the FUSE thread). */
export interface FuseRequestContext {
  readonly uid: number;
  readonly gid: number;
  /** The calling thread's id in the mounting process's pid namespace; 0 for requests the kernel makes itself. */
  readonly pid: number;
}

/** An operation: `(context, ...fuse-native's arguments, callback)`. */
export type FuseOperation = (context: FuseRequestContext, ...args: any[]) => void;
export type FuseOperations = Record<string, FuseOperation>;

/** A time as struct timespec carries it. */
export interface FuseTime {
  readonly sec: number;
  readonly nsec: number;
}

/** utimensat's special tv_nsec values (Linux <sys/stat.h>); checked against the addon's when it loads. */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: FuseTime;
  mtime: FuseTime;
  ctime: FuseTime;
}

export interface FuseMountOptionsNative {
  readonly fsname?: string;
  readonly subtype?: string;
  readonly defaultPermissions?: boolean;
  readonly allowOther?: boolean;
  readonly debug?: boolean;
  /**
   * Bytes per READ/WRITE request to negotiate (native patch 5): above the
   * kernel's default of 128 KiB the addon asks for FUSE_MAX_PAGES. The mount
   * options max_write/max_read must allow as much (fuse-options.ts). Default
   * 128 KiB, libfuse 2.9's own behaviour.
   */
  readonly ioRequestBytes?: number;
}

/** What the addon saw and negotiated on one mount (native patch 5), for tests and benchmarks. */
export interface FuseIoStats {
  /** Whether the kernel's INIT was answered. */
  readonly isInitialized: boolean;
  /** The protocol minor the kernel offered (7.x). */
  readonly kernelMinor: number;
  /** Whether the kernel offered FUSE_MAX_PAGES (Linux 4.20+). */
  readonly kernelOffersMaxPages: boolean;
  /** Length of libfuse's own INIT reply payload (24 for libfuse 2.9). */
  readonly initReplyBytes: number;
  /** max_pages we told the kernel; 0 when the reply was left as libfuse made it (requests stay at 128 KiB). */
  readonly maxPages: number;
  /** max_write in the INIT reply. */
  readonly maxWrite: number;
  readonly readRequests: number;
  readonly readBytes: number;
  /** The largest READ request seen (bytes asked for). */
  readonly readMax: number;
  readonly writeRequests: number;
  readonly writeBytes: number;
  /** The largest WRITE request seen. */
  readonly writeMax: number;
}

/** FUSE_MAX_PAGES in fuse_init_in.flags. */
const FUSE_MAX_PAGES_FLAG = 1 << 22;
const IO_STATS_FIELDS = 12;
/** libfuse 2.9's request size (32 pages), used when the options ask for nothing else. */
export const FUSE_DEFAULT_REQUEST_BYTES = 131_072;
/** The most a request can carry: 65535 pages is max_pages' limit; 16 MiB is already far past the kernel's default cap (256 pages). */
export const FUSE_REQUEST_BYTES_LIMIT = 16 * 1024 * 1024;

const UINT32 = 4_294_967_296;

function setUint64(ints: Uint32Array, index: number, value: number): void {
  const safe = Math.max(0, Math.floor(value));
  ints[index] = safe % UINT32;
  ints[index + 1] = Math.floor(safe / UINT32);
}

function uint64(low: number, high: number): number {
  return low + high * UINT32;
}

/** uint32s per stat: 12 for the fields before the times, 3 per time. */
export const STAT_UINT32S = 21;

function setTime(ints: Uint32Array, index: number, time: FuseTime): void {
  assert(Number.isInteger(time.nsec) && time.nsec >= 0 && time.nsec < 1e9, `nanoseconds ${time.nsec}`);
  setUint64(ints, index, time.sec);
  ints[index + 2] = time.nsec;
}

export function statArray(stat: FuseStat): Uint32Array {
  const ints = new Uint32Array(STAT_UINT32S);
  ints[0] = stat.mode;
  ints[1] = stat.uid;
  ints[2] = stat.gid;
  setUint64(ints, 3, stat.size);
  ints[5] = stat.dev;
  ints[6] = stat.nlink;
  ints[7] = stat.ino;
  ints[8] = stat.rdev;
  ints[9] = stat.blksize;
  setUint64(ints, 10, stat.blocks);
  setTime(ints, 12, stat.atime);
  setTime(ints, 15, stat.mtime);
  setTime(ints, 18, stat.ctime);
  return ints;
}

const STATFS_FIELDS = ['bsize', 'frsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree', 'favail', 'fsid', 'flag', 'namemax'] as const;

function statfsArray(statfs: Partial<Record<string, number>> | undefined): Uint32Array {
  const ints = new Uint32Array(STATFS_FIELDS.length);
  STATFS_FIELDS.forEach((field, i) => (ints[i] = statfs?.[field] ?? 0));
  return ints;
}

/** The addon's exports we use (curvefs-fuse.c's NAPI_INIT). */
interface NativeBinding {
  readonly sizeof_fuse_thread_t: number;
  fuse_native_mount(
    mountPoint: string,
    options: string,
    thread: Buffer,
    self: object,
    malloc: (size: number) => Buffer,
    handlers: readonly (NativeHandler | undefined)[],
    implemented: Uint32Array,
    ioRequestBytes: number,
  ): void;
  fuse_native_unmount(mountPoint: string, thread: Buffer): void;
  fuse_native_io_stats(thread: Buffer, into: Float64Array): void;
  readonly [name: string]: unknown;
}

type NativeHandler = (locals: Buffer, opcode: number, ...args: unknown[]) => void;
type NativeSignal = (locals: Buffer, result: number, ...values: unknown[]) => void;
/** Answers the FUSE thread: the result (0, a count, or a negative errno) and the op's values. */
type Signal = (result: number, ...values: unknown[]) => void;

/** Where node-gyp puts the addon, from dist/client/fuse/ or client/fuse/ alike. */
export function nativeAddonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const relative = path.join('client', 'fuse', 'native', 'build', 'Release', 'curvefs_fuse.node');
  for (let dir = here, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `the FUSE addon ${relative} is not built: run \`npm run build:native\` (needs libfuse-dev, see scripts/install-deps.sh)`);
}

let binding: NativeBinding | null = null;

function loadBinding(): NativeBinding {
  if (binding === null) {
    const loaded = createRequire(import.meta.url)(nativeAddonPath()) as NativeBinding;
    // An addon built before native patch 4 would send ms times and 18-uint32 stats.
    assert(loaded['utime_now'] === UTIME_NOW && loaded['utime_omit'] === UTIME_OMIT, 'the FUSE addon predates ns timestamps: run `npm run build:native`');
    assert(typeof loaded.fuse_native_io_stats === 'function', 'the FUSE addon predates large requests: run `npm run build:native`');
    binding = loaded;
  }
  return binding;
}

/**
 * Each op's name, its default values when it fails (the native side reads
 * them anyway), and how its arguments reach `ops`. Names match the addon's
 * `op_<name>` and `fuse_native_signal_<name>` exports.
 */
type Bridge = (ops: FuseOperations, context: FuseRequestContext, signal: Signal, args: any[]) => void;

const ENODATA = -Errno.ENODATA;
const ERANGE = -Errno.ERANGE;

/** The usual shape: forward the arguments, answer the error (fuse-native's plain `_op_x`). */
const plain =
  (name: string): Bridge =>
  (ops, context, signal, args) =>
    ops[name]!(context, ...args, (errno: number) => signal(errno));
/** An op answering a handle: `(err, fh)`. */
const withHandle =
  (name: string): Bridge =>
  (ops, context, signal, args) =>
    ops[name]!(context, ...args, (errno: number, fh?: number) => signal(errno, fh));

const BRIDGES: ReadonlyMap<string, { defaults?: readonly unknown[]; bridge: Bridge }> = new Map<string, { defaults?: readonly unknown[]; bridge: Bridge }>([
  ['access', { defaults: [0], bridge: plain('access') }],
  [
    'statfs',
    {
      defaults: [statfsArray(undefined)],
      bridge: (ops, c, signal, [p]) => ops['statfs']!(c, p, (errno: number, statfs?: Record<string, number>) => (errno ? signal(errno) : signal(0, statfsArray(statfs)))),
    },
  ],
  [
    'fgetattr',
    {
      defaults: [new Uint32Array(STAT_UINT32S)],
      bridge: (ops, c, signal, [p, fh]) =>
        ops['fgetattr']!(c, p, fh, (errno: number, stat?: FuseStat) => (errno !== 0 || stat === undefined ? signal(errno === 0 ? -Errno.EIO : errno) : signal(0, statArray(stat)))),
    },
  ],
  [
    'getattr',
    {
      defaults: [new Uint32Array(STAT_UINT32S)],
      bridge: (ops, c, signal, [p]) =>
        ops['getattr']!(c, p, (errno: number, stat?: FuseStat) => (errno !== 0 || stat === undefined ? signal(errno === 0 ? -Errno.EIO : errno) : signal(0, statArray(stat)))),
    },
  ],
  ['flush', { bridge: plain('flush') }],
  ['fsync', { bridge: plain('fsync') }],
  ['fsyncdir', { bridge: plain('fsyncdir') }],
  [
    'readdir',
    {
      defaults: [[], []],
      bridge: (ops, c, signal, [p]) =>
        ops['readdir']!(c, p, (errno: number, names?: string[], stats?: FuseStat[]) => (errno ? signal(errno) : signal(0, names ?? [], (stats ?? []).map(statArray)))),
    },
  ],
  ['truncate', { bridge: (ops, c, signal, [p, low, high]) => ops['truncate']!(c, p, uint64(low, high), (errno: number) => signal(errno)) }],
  ['ftruncate', { bridge: (ops, c, signal, [p, fh, low, high]) => ops['ftruncate']!(c, p, fh, uint64(low, high), (errno: number) => signal(errno)) }],
  [
    'utimens',
    {
      // Seconds, then nanoseconds (possibly UTIME_NOW / UTIME_OMIT), for atime and mtime.
      bridge: (ops, c, signal, [p, aLow, aHigh, aNsec, mLow, mHigh, mNsec]) =>
        ops['utimens']!(c, p, uint64(aLow, aHigh), aNsec, uint64(mLow, mHigh), mNsec, (errno: number) => signal(errno)),
    },
  ],
  ['readlink', { defaults: [''], bridge: (ops, c, signal, [p]) => ops['readlink']!(c, p, (errno: number, target?: string) => signal(errno, target)) }],
  ['chown', { bridge: plain('chown') }],
  ['chmod', { bridge: plain('chmod') }],
  ['mknod', { bridge: plain('mknod') }],
  ['setxattr', { bridge: (ops, c, signal, [p, name, value, position, flags]) => ops['setxattr']!(c, p, name, value, position, flags, (errno: number) => signal(errno, value.buffer)) }],
  [
    'getxattr',
    {
      bridge: (ops, c, signal, [p, name, valueBuf, position]) =>
        ops['getxattr']!(c, p, name, position, (errno: number, value?: Buffer) => {
          const into = valueBuf as Buffer;
          if (errno) return signal(errno, into.buffer);
          if (!value) return signal(ENODATA, into.buffer);
          // A zero-size buffer asks for the length only.
          if (into.length > 0 && value.length > into.length) return signal(ERANGE, into.buffer);
          value.copy(into);
          return signal(value.length, into.buffer);
        }),
    },
  ],
  [
    'listxattr',
    {
      bridge: (ops, c, signal, [p, listBuf]) =>
        ops['listxattr']!(c, p, (errno: number, list?: string[]) => {
          const into = listBuf as Buffer;
          if (errno || !list) return signal(errno || -Errno.EIO, into.buffer);
          const size = list.reduce((sum, name) => sum + Buffer.byteLength(name) + 1, 0);
          // fuse-native answers a size query with 128 bytes to spare; kept.
          if (into.length === 0) return signal(size + 128, into.buffer);
          if (size > into.length) return signal(ERANGE, into.buffer);
          let at = 0;
          for (const name of list) {
            at += into.write(name, at);
            into[at++] = 0;
          }
          return signal(at, into.buffer);
        }),
    },
  ],
  ['removexattr', { bridge: plain('removexattr') }],
  ['open', { defaults: [0], bridge: withHandle('open') }],
  // The native side passes (path, info->fh, info->flags); the flags are what opendir needs.
  ['opendir', { defaults: [0], bridge: (ops, c, signal, [p, _fh, flags]) => ops['opendir']!(c, p, flags, (errno: number, fh?: number) => signal(errno, fh)) }],
  [
    'read',
    {
      defaults: [0],
      bridge: (ops, c, signal, [p, fh, buf, len, low, high]) =>
        ops['read']!(c, p, fh, buf, len, uint64(low, high), (result: number, count?: number) => signal(result, count ?? 0, buf.buffer)),
    },
  ],
  [
    'write',
    {
      defaults: [0],
      bridge: (ops, c, signal, [p, fh, buf, len, low, high]) =>
        ops['write']!(c, p, fh, buf, len, uint64(low, high), (result: number, count?: number) => signal(result, count ?? 0, buf.buffer)),
    },
  ],
  ['release', { bridge: plain('release') }],
  ['releasedir', { bridge: plain('releasedir') }],
  ['create', { defaults: [0], bridge: withHandle('create') }],
  ['unlink', { bridge: plain('unlink') }],
  ['rename', { bridge: plain('rename') }],
  ['link', { bridge: plain('link') }],
  ['symlink', { bridge: plain('symlink') }],
  ['mkdir', { bridge: plain('mkdir') }],
  ['rmdir', { bridge: plain('rmdir') }],
]);

/** How often, and how many times at most, mount() looks for libfuse's INIT reply before calling back. */
const INIT_REPLY_POLL_MS = 2;
const INIT_REPLY_POLLS_MAX = 5_000;

/** uid, gid, pid: appended by the patched native side after each op's own arguments. */
const CALLER_ARGS = 3;
const HANDLER_SLOTS = 35;

/** One mount served by this process. */
export class Fuse {
  readonly mountPoint: string;
  private readonly thread: Buffer;
  /** Per-FUSE-thread locals the native side allocates through us; kept alive for the mount's life. */
  private readonly threads = new Set<Buffer>();
  private readonly handlers: (NativeHandler | undefined)[];
  private readonly implemented: Uint32Array;
  private mountCallback: ((error: Error | null) => void) | null = null;
  private state: 'new' | 'mounting' | 'mounted' | 'unmounted' = 'new';

  constructor(
    mountPoint: string,
    ops: FuseOperations,
    private readonly options: FuseMountOptionsNative = {},
  ) {
    this.mountPoint = path.resolve(mountPoint);
    const io = options.ioRequestBytes ?? FUSE_DEFAULT_REQUEST_BYTES;
    assert(Number.isInteger(io) && io >= 4096 && io % 4096 === 0 && io <= FUSE_REQUEST_BYTES_LIMIT, `request size ${io}`);
    const native = loadBinding();
    this.thread = Buffer.alloc(native.sizeof_fuse_thread_t);
    this.handlers = new Array(HANDLER_SLOTS).fill(undefined);
    this.implemented = new Uint32Array(HANDLER_SLOTS);
    this.addHandler(native, 'init', (context, signal) => {
      const callback = this.mountCallback;
      this.mountCallback = null;
      if (callback !== null) {
        this.state = 'mounted';
        this.afterInitReply(callback, 0);
      }
      const init = ops['init'];
      if (init === undefined) signal(0);
      else init(context, (errno: number) => signal(errno));
    });
    for (const [name, { defaults, bridge }] of BRIDGES) {
      // getattr is always implemented (libfuse needs it); the others only when ops has them.
      if (ops[name] === undefined) continue;
      this.addHandler(native, name, (context, signal, args) => bridge(ops, context, signal, args), defaults);
    }
  }

  private addHandler(
    native: NativeBinding,
    name: string,
    run: (context: FuseRequestContext, signal: Signal, args: unknown[]) => void,
    defaults?: readonly unknown[],
  ): void {
    const op = native[`op_${name}`] as number;
    const nativeSignal = native[`fuse_native_signal_${name}`] as NativeSignal;
    assert(Number.isInteger(op) && op >= 0 && op < HANDLER_SLOTS && typeof nativeSignal === 'function', `the addon lacks op ${name}`);
    const signalFor =
      (locals: Buffer): Signal =>
      (result, ...values) => {
        // As fuse-native: trailing undefined values are dropped, and a bare result gets the defaults.
        while (values.length > 0 && values[values.length - 1] === undefined) values.pop();
        if (values.length === 0 && defaults !== undefined) values = [...defaults];
        process.nextTick(nativeSignal, locals, result, ...values);
      };
    this.handlers[op] = (locals, _opcode, ...args) => {
      assert(args.length >= CALLER_ARGS, `op ${name}: the addon passed no caller`);
      const pid = args.pop() as number;
      const gid = args.pop() as number;
      const uid = args.pop() as number;
      run({ uid, gid, pid }, signalFor(locals), args);
    };
    this.implemented[op] = 1;
  }

  /** The "-o a,b,c" string libfuse parses (fuse-native's _fuseOptions, trimmed to what we use). */
  private optionString(): string {
    const o = this.options;
    const parts: string[] = [];
    if (o.debug) parts.push('debug');
    if (o.allowOther) parts.push('allow_other');
    if (o.defaultPermissions) parts.push('default_permissions');
    if (o.fsname) parts.push(`fsname=${o.fsname}`);
    if (o.subtype) parts.push(`subtype=${o.subtype}`);
    return parts.length > 0 ? `-o${parts.join(',')}` : '';
  }

  /**
   * Calls back once libfuse's INIT reply went out (the addon counts it): the
   * kernel applies a reply as it is written, so what it set from it (max_pages,
   * and the read-ahead window, which it lowers to libfuse's max_readahead and
   * the mount raises afterwards) is in place. libfuse replies right after our
   * init handler answers, so this takes a few polls; bounded all the same, after
   * which it calls back anyway (the mount exists either way).
   */
  private afterInitReply(callback: (error: Error | null) => void, polls: number): void {
    if (this.ioStats().isInitialized || polls >= INIT_REPLY_POLLS_MAX) {
      callback(null);
      return;
    }
    setTimeout(() => this.afterInitReply(callback, polls + 1), INIT_REPLY_POLL_MS);
  }

  /** What the kernel offered, what we negotiated, and the READ/WRITE requests seen so far. */
  ioStats(): FuseIoStats {
    const v = new Float64Array(IO_STATS_FIELDS);
    loadBinding().fuse_native_io_stats(this.thread, v);
    return {
      isInitialized: v[0] === 2,
      kernelMinor: v[1]!,
      kernelOffersMaxPages: (v[2]! & FUSE_MAX_PAGES_FLAG) !== 0,
      initReplyBytes: v[3]!,
      maxPages: v[4]!,
      maxWrite: v[5]!,
      readRequests: v[6]!,
      readBytes: v[7]!,
      readMax: v[8]!,
      writeRequests: v[9]!,
      writeBytes: v[10]!,
      writeMax: v[11]!,
    };
  }

  /** Mounts; the callback runs once the kernel's INIT was answered (or with the error). */
  mount(callback: (error: Error | null) => void): void {
    assert(this.state === 'new', `mount called twice on ${this.mountPoint}`);
    this.state = 'mounting';
    this.mountCallback = callback;
    try {
      loadBinding().fuse_native_mount(
        this.mountPoint,
        this.optionString(),
        this.thread,
        this,
        (size: number) => {
          // Buffer.alloc never hands out pooled memory: the native side keeps a pointer into it.
          const locals = Buffer.alloc(size);
          this.threads.add(locals);
          return locals;
        },
        this.handlers,
        this.implemented,
        this.options.ioRequestBytes ?? FUSE_DEFAULT_REQUEST_BYTES,
      );
    } catch (error) {
      this.mountCallback = null;
      this.state = 'unmounted';
      process.nextTick(callback, error as Error);
    }
  }

  /**
   * `fusermount -uz`, then lets the native side drop its hold on the event
   * loop. The kernel mount exists as soon as mount() returned without error
   * (libfuse mounts synchronously), so a mount still waiting for init is
   * unmounted too, and its mount callback told so.
   */
  unmount(callback: (error: Error | null) => void): void {
    if (this.state === 'new' || this.state === 'unmounted') {
      process.nextTick(callback, null);
      return;
    }
    const pending = this.mountCallback;
    this.mountCallback = null;
    if (pending !== null) process.nextTick(pending, new Error(`${this.mountPoint} was unmounted before the kernel's init`));
    execFile('fusermount', ['-uz', this.mountPoint], (error) => {
      if (error) {
        (error as Error & { unmountFailure?: boolean }).unmountFailure = true;
        return callback(error);
      }
      this.state = 'unmounted';
      try {
        loadBinding().fuse_native_unmount(this.mountPoint, this.thread);
      } catch (nativeError) {
        return callback(nativeError as Error);
      }
      return callback(null);
    });
  }
}
