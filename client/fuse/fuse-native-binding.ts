/**
 * Loads fuse-native (CommonJS, untyped) and fixes the one call it gets wrong.
 *
 * fuse-native 2.2.6 routes fgetattr to `ops.getattr(path)`, dropping the
 * handle, so fstat on a file that was renamed or hidden meanwhile would stat
 * the wrong name. The subclass sends it to `ops.fgetattr(path, fh)`. The stat
 * array layout (18 uint32s: mode, uid, gid, size lo/hi, dev, nlink, ino,
 * rdev, blksize, blocks lo/hi, atime/mtime/ctime ms lo/hi) is fuse-native's
 * own (index.js getStatArray), which its C side reads.
 */
import { createRequire } from 'node:module';
import { Errno } from '../../src/common/errno.js';

export type FuseCallback = (...args: unknown[]) => void;

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
  /** Milliseconds since the epoch (fuse-native carries times in ms). */
  atime: number;
  mtime: number;
  ctime: number;
}

export interface FuseInstance {
  mount(callback: (error: Error | null) => void): void;
  unmount(callback: (error: Error | null) => void): void;
}

export interface FuseClass {
  new (mountPoint: string, ops: Record<string, FuseCallback>, options: Record<string, unknown>): FuseInstance;
  unmount(mountPoint: string, callback: (error: Error | null) => void): void;
}

const UINT32 = 4_294_967_296;

function setUint64(ints: Uint32Array, index: number, value: number): void {
  const safe = Math.max(0, Math.floor(value));
  ints[index] = safe % UINT32;
  ints[index + 1] = Math.floor(safe / UINT32);
}

export function statArray(stat: FuseStat): Uint32Array {
  const ints = new Uint32Array(18);
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
  setUint64(ints, 12, stat.atime);
  setUint64(ints, 14, stat.mtime);
  setUint64(ints, 16, stat.ctime);
  return ints;
}

let loaded: FuseClass | null = null;

/** fuse-native's Fuse class with fgetattr fixed; loaded on first use (it opens libfuse). */
export function loadFuse(): FuseClass {
  if (loaded !== null) return loaded;
  const Fuse = createRequire(import.meta.url)('fuse-native') as FuseClass;
  const Base = Fuse as unknown as new (...args: unknown[]) => { ops: Record<string, FuseCallback> };
  class CurveFuse extends Base {
    _op_fgetattr(signal: (errno: number, stat?: Uint32Array) => void, path: string, fh: number): void {
      this.ops['fgetattr']!(path, fh, (errno: number, stat?: FuseStat) => {
        if (errno !== 0 || stat === undefined) signal(errno === 0 ? -Errno.EIO : errno);
        else signal(0, statArray(stat));
      });
    }
  }
  Object.defineProperty(CurveFuse, 'unmount', { value: Fuse.unmount.bind(Fuse) });
  loaded = CurveFuse as unknown as FuseClass;
  return loaded;
}
