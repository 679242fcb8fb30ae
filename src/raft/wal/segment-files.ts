/**
 * Segment file naming and directory helpers. A segment is named
 * `<seq>-<firstIndex>.wal` (both 16 hex digits): `seq` orders segments in
 * write order (a truncation can make a later segment start at a lower index,
 * so the index alone cannot order them); `firstIndex` is lastIndex + 1 when the
 * segment was created, which is what compaction needs to decide deletion.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../common/assert.js';

export interface SegmentName {
  readonly seq: number;
  readonly firstIndex: number;
  readonly file: string;
}

const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentFileName(seq: number, firstIndex: number): string {
  assert(Number.isSafeInteger(seq) && seq >= 0, `bad segment seq ${seq}`);
  assert(Number.isSafeInteger(firstIndex) && firstIndex >= 1, `bad segment first index ${firstIndex}`);
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

export function parseSegmentFileName(file: string): SegmentName | undefined {
  const m = NAME_RE.exec(file);
  if (!m) return undefined;
  const seq = parseInt(m[1]!, 16);
  const firstIndex = parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex, file };
}

/** Segments in `dir`, oldest first. Other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const names = (await readdir(dir)).map(parseSegmentFileName).filter((s): s is SegmentName => s !== undefined);
  names.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < names.length; i++) {
    assert(names[i]!.seq !== names[i - 1]!.seq, `two wal segments with seq ${names[i]!.seq} in ${dir}`);
  }
  return names;
}

/** Makes creations, renames and unlinks in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function segmentPath(dir: string, s: SegmentName): string {
  return join(dir, s.file);
}
