/** Deterministic content shared by the crash test and its child writer. */
import { SeededRandom } from '../../src/common/random.js';

export const CRASH_GEOMETRY = { chunkSizeBytes: 256 << 10, blockSizeBytes: 64 << 10 };
export const LOG_INODE = 999;

function bytes(seed: number, n: number): Buffer {
  const rng = new SeededRandom(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** File of round k: sizes cross block and chunk boundaries. */
export function roundFile(seed: number, k: number): Buffer {
  const rng = new SeededRandom(seed * 7919 + k);
  return bytes(seed * 1_000_003 + k, 1 + rng.int(600 << 10));
}

export function roundSegment(seed: number, k: number): Buffer {
  const rng = new SeededRandom(seed * 104_729 + k);
  return bytes(seed * 2_000_003 + k, 1 + rng.int(100 << 10));
}
