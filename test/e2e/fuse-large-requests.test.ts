/**
 * FUSE requests larger than 128 KiB (native patch 5 in
 * client/fuse/native/curvefs-fuse.c) through a REAL kernel mount of the
 * client's Vfs with the real data path, served by a CHILD process
 * (test/helpers/fuse-io-child.ts) that reports what the addon negotiated and
 * the largest READ/WRITE requests it received.
 *
 * With 1 MiB asked for, the kernel (this one has FUSE_MAX_PAGES; it FAILS
 * here if not) must send WRITE and READ requests above 128 KiB, and data
 * written by large, unaligned writes must read back identical through large,
 * unaligned reads and through sha256sum. With 128 KiB asked for (libfuse
 * 2.9's own size, what a kernel without FUSE_MAX_PAGES gives) the INIT reply
 * stays libfuse's, requests stay at 128 KiB, and the data is as right.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../../src/common/random.js';
import type { FuseIoStats } from '../../client/fuse/fuse-native-binding.js';
import { createMountPoint, waitForMount, type MountPoint } from '../helpers/fuse-mount.js';
import { startProcess, type ProcessHandle } from '../helpers/process.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const CHILD = fileURLToPath(new URL('../helpers/fuse-io-child.js', import.meta.url));
const MOUNT_TIMEOUT_MS = 15_000;
const STATS_TIMEOUT_MS = 5_000;
const SHELL_TIMEOUT_MS = 60_000;
const KiB = 1024;
const MiB = 1024 * KiB;
const DEFAULT_REQUEST_BYTES = 128 * KiB;

function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', command], { timeout: SHELL_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function randomBytes(random: SeededRandom, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i + 4 <= length; i += 4) bytes.writeUInt32LE(Math.floor(random.next() * 0x1_0000_0000), i);
  for (let i = length - (length % 4); i < length; i++) bytes[i] = random.int(256);
  return bytes;
}

/** Serves a mount at `ioBytes` per request; `stats()` asks the child what the addon saw so far. */
function serveMount(ioBytes: number): { mnt: () => string; stats: () => Promise<FuseIoStats> } {
  let mountPoint: MountPoint;
  let dataDir: TempDir;
  let child: ProcessHandle;
  let asked = 0;
  before(async () => {
    mountPoint = await createMountPoint('fuse-large');
    dataDir = await makeTempDir('fuse-large-data');
    child = await startProcess({
      name: 'fuse-io-child',
      command: process.execPath,
      args: [CHILD, mountPoint.path, dataDir.path, String(ioBytes)],
      ready: { kind: 'line', pattern: /^mounted / },
      readyTimeoutMs: MOUNT_TIMEOUT_MS,
      stopTimeoutMs: 20_000,
    });
    await waitForMount(mountPoint.path, MOUNT_TIMEOUT_MS);
  });
  after(async () => {
    await child?.stop();
    await mountPoint?.cleanup();
    await dataDir?.remove();
  });
  return {
    mnt: () => mountPoint.path,
    stats: async () => {
      const n = ++asked;
      child.signal('SIGUSR2');
      const line = await child.waitForLine(new RegExp(`^stats ${n} `), STATS_TIMEOUT_MS);
      return JSON.parse(line.slice(`stats ${n} `.length)) as FuseIoStats;
    },
  };
}

/**
 * Writes with large unaligned pwrite(2)s (some overlapping), then checks the
 * file with large unaligned pread(2)s from a fresh open (the kernel drops its
 * page cache on open: the reads reach the file system) and with sha256sum.
 */
async function writeAndCheck(file: string, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const size = 6 * MiB + 12_345;
  const expected = Buffer.alloc(size);
  const writes: [number, number][] = [
    [0, 1000],
    [1000, 3 * MiB + 77],
    [3 * MiB + 1077, 2 * MiB - 3],
    [2 * MiB + 4095, MiB + 1],
    [5 * MiB + 1074, size - (5 * MiB + 1074)],
    [4096, 2 * MiB],
  ];
  const handle = await fs.promises.open(file, 'w+');
  try {
    for (const [offset, length] of writes) {
      const data = randomBytes(random, length);
      data.copy(expected, offset);
      const { bytesWritten } = await handle.write(data, 0, length, offset);
      assert.equal(bytesWritten, length);
    }
  } finally {
    await handle.close();
  }
  const reader = await fs.promises.open(file, 'r');
  try {
    assert.equal((await reader.stat()).size, size);
    for (const [offset, length] of [[0, 2 * MiB + 3], [777, 3 * MiB], [2 * MiB + 3, size - (2 * MiB + 3)], [size - 5, 100]] as const) {
      const into = Buffer.alloc(length);
      const { bytesRead } = await reader.read(into, 0, length, offset);
      const want = Math.min(length, size - offset);
      assert.equal(bytesRead, want, `read at ${offset}`);
      assert.ok(into.subarray(0, want).equals(expected.subarray(offset, offset + want)), `bytes at ${offset}..${offset + want}`);
    }
  } finally {
    await reader.close();
  }
  const [summed] = (await sh(`sha256sum ${file}`)).split(' ');
  assert.equal(summed, sha256(expected));
}

describe('1 MiB requests', () => {
  const mount = serveMount(MiB);

  test('the kernel is told max_pages and sends WRITE and READ requests above 128 KiB; data reads back identical', async (t) => {
    const init = await mount.stats();
    assert.ok(init.isInitialized);
    assert.ok(init.kernelOffersMaxPages, `this kernel (7.${init.kernelMinor}) must offer FUSE_MAX_PAGES`);
    assert.equal(init.initReplyBytes, 24, "libfuse 2.9's INIT reply, before we extend it");
    assert.equal(init.maxPages, MiB / 4096);
    assert.equal(init.maxWrite, MiB);

    await writeAndCheck(path.join(mount.mnt(), 'unaligned'), 7);
    await sh(`dd if=/dev/zero of=${mount.mnt()}/seq bs=1M count=8 conv=fsync status=none && dd if=${mount.mnt()}/seq of=/dev/null bs=1M status=none`);
    const io = await mount.stats();
    t.diagnostic(JSON.stringify(io));
    assert.ok(io.writeMax > DEFAULT_REQUEST_BYTES && io.writeMax <= MiB, `largest WRITE ${io.writeMax}`);
    assert.ok(io.readMax > DEFAULT_REQUEST_BYTES && io.readMax <= MiB, `largest READ ${io.readMax}`);
    // 8 MiB by dd alone is 8 requests at 1 MiB; 64 would mean 128 KiB ones.
    assert.ok(io.writeRequests < io.writeBytes / DEFAULT_REQUEST_BYTES, `${io.writeRequests} WRITEs for ${io.writeBytes} bytes`);
  });
});

describe('128 KiB requests (what a kernel without FUSE_MAX_PAGES gives)', () => {
  const mount = serveMount(DEFAULT_REQUEST_BYTES);

  test("the INIT reply stays libfuse's, requests stay at 128 KiB, and data reads back identical", async (t) => {
    const init = await mount.stats();
    assert.ok(init.isInitialized);
    assert.equal(init.maxPages, 0);
    assert.equal(init.maxWrite, DEFAULT_REQUEST_BYTES);
    await writeAndCheck(path.join(mount.mnt(), 'unaligned'), 8);
    const io = await mount.stats();
    t.diagnostic(JSON.stringify(io));
    assert.ok(io.writeRequests > 0 && io.readRequests > 0);
    assert.ok(io.writeMax <= DEFAULT_REQUEST_BYTES, `largest WRITE ${io.writeMax}`);
    assert.ok(io.readMax <= DEFAULT_REQUEST_BYTES, `largest READ ${io.readMax}`);
  });
});
