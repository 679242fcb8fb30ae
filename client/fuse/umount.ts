/**
 * `curvefs umount MOUNTPOINT [--lazy]` from another process than the one
 * serving the mount: fusermount asks the kernel to detach it; the serving
 * process then sees its FUSE session end, and its own unmount path (flush,
 * release) runs. A plain unmount of a busy mount fails with the reason
 * fusermount gives; --lazy detaches now and finishes when the last user
 * leaves. Bounded by a timeout.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { CurveError } from '../../src/common/errors.js';

const FUSERMOUNT_TIMEOUT_MS = 10_000;

export function unmountMountPoint(mountPoint: string, options: { lazy?: boolean } = {}): Promise<void> {
  const target = path.resolve(mountPoint);
  const args = options.lazy ? ['-u', '-z', target] : ['-u', target];
  return new Promise((resolve, reject) => {
    execFile('fusermount', args, { timeout: FUSERMOUNT_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const reason = String(stderr).trim() || error.message;
      reject(new CurveError('CURVEFS_ERR_UNAVAILABLE', `cannot unmount ${target}: ${reason}`, { cause: error }));
    });
  });
}
