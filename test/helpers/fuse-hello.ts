/**
 * Starts fuse-hello-child.js (a tiny real FUSE file system) in a child
 * process on a mount point, ready once the kernel lists the mount.
 */
import { fileURLToPath } from 'node:url';
import { waitForMount } from './fuse-mount.js';
import { PartStartError, startProcess, type ProcessHandle } from './process.js';

export const HELLO_FILE_NAME = 'hello.txt';
export const HELLO_FILE_CONTENT = 'hello\n';
export const FUSE_HELLO_CHILD = fileURLToPath(new URL('./fuse-hello-child.js', import.meta.url));

const MOUNT_TIMEOUT_MS = 10_000;

/** Serves the hello file system on mountPoint from a child; throws if it cannot mount. */
export async function startFuseHello(mountPoint: string): Promise<ProcessHandle> {
  const child = await startProcess({
    name: 'fuse-hello',
    command: process.execPath,
    args: [FUSE_HELLO_CHILD, mountPoint],
    ready: { kind: 'line', pattern: /^mounted / },
    readyTimeoutMs: MOUNT_TIMEOUT_MS,
  });
  try {
    await waitForMount(mountPoint, MOUNT_TIMEOUT_MS);
  } catch (err) {
    await child.kill();
    throw new PartStartError('fuse-hello', (err as Error).message, child.outputTail());
  }
  return child;
}
