/**
 * WAL across many small segments: random appends (with tail overwrites),
 * hard states, compactions and installed snapshots, then close and reopen.
 * The reopened log must equal the live one exactly, whatever segments the
 * compactions deleted (this exercises replay from a segment whose header
 * marker is older than its entries).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Wal } from '../../src/raft/wal/wal.js';
import { EntryType } from '../../src/raft/core/types.js';
import type { Entry } from '../../src/raft/core/types.js';

type Op =
  | { kind: 'append'; count: number; size: number; back: number }
  | { kind: 'compact'; fraction: number }
  | { kind: 'install'; ahead: number }
  | { kind: 'reopen' };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 16 }), size: fc.integer({ min: 0, max: 600 }), back: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('install' as const), ahead: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

function snapshotOf(wal: Wal): unknown {
  const first = wal.firstIndex();
  const last = wal.lastIndex();
  return {
    first,
    last,
    hardState: wal.hardState(),
    snapshot: wal.snapshotMeta(),
    entries: last >= first ? wal.entries(first, last + 1, Infinity).map((e) => [e.index, e.term, e.data.length, e.data[0]]) : [],
  };
}

test('reopen reproduces the live log after random appends, compactions and installs over small segments', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wal-segments-'));
  let run = 0;
  let segmentsMax = 0;
  let segmentsDeleted = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 80 }), async (ops) => {
        const dir = join(root, `w${run++}`);
        let wal = await Wal.open(dir, { segmentBytes: 4096 });
        let term = 1;
        const conf = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] };
        for (const op of ops) {
          if (op.kind === 'append') {
            const last = wal.lastIndex();
            // Never overwrite what a snapshot covers (committed entries are never replaced).
            const start = Math.max(wal.firstIndex(), last + 1 - op.back);
            if (start <= last) term++;
            const entries: Entry[] = [];
            for (let i = 0; i < op.count; i++) {
              entries.push({ index: start + i, term, type: EntryType.Normal, data: new Uint8Array(op.size).fill((start + i) & 0xff) });
            }
            await wal.append(entries, { term, vote: 'a', commit: Math.max(0, start - 1) });
          } else if (op.kind === 'compact') {
            const first = wal.firstIndex();
            const last = wal.lastIndex();
            if (last < first) continue;
            const index = first + Math.floor(op.fraction * (last - first));
            const before = wal.stats().segments;
            await wal.saveSnapshot({ index, term: wal.term(index), confState: conf });
            segmentsDeleted += Math.max(0, before - wal.stats().segments);
          } else if (op.kind === 'install') {
            term++;
            const index = wal.lastIndex() + op.ahead;
            const before = wal.stats().segments;
            await wal.saveSnapshot({ index, term, confState: conf });
            segmentsDeleted += Math.max(0, before - wal.stats().segments);
            await wal.append([], { term, vote: '', commit: index });
          } else {
            const before = snapshotOf(wal);
            await wal.close();
            wal = await Wal.open(dir, { segmentBytes: 4096 });
            assert.deepEqual(snapshotOf(wal), before);
          }
        }
        segmentsMax = Math.max(segmentsMax, wal.stats().segments);
        const live = snapshotOf(wal);
        await wal.close();
        const reopened = await Wal.open(dir, { segmentBytes: 4096 });
        assert.deepEqual(snapshotOf(reopened), live);
        await reopened.close();
      }),
      { numRuns: 120 },
    );
    // The generator really exercised rolling and deletion.
    assert.ok(segmentsMax >= 3, `at most ${segmentsMax} segments`);
    assert.ok(segmentsDeleted > 0, 'no compaction deleted a segment');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
