/**
 * WAL recovery from any truncation point of a real segment file: reopening
 * keeps exactly the state of the records fully written before the cut, and
 * the WAL accepts new appends after the repair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Wal } from '../../src/raft/wal/wal.js';
import { MemoryLog } from '../../src/raft/wal/memory-log.js';
import { encodeRecord, RecordType, scanRecords } from '../../src/raft/wal/record-codec.js';
import type { WalRecord } from '../../src/raft/wal/record-codec.js';
import { EntryType } from '../../src/raft/core/types.js';
import type { Entry, HardState } from '../../src/raft/core/types.js';

/** A run of appends as a leader/follower would make them: terms rise, tails may be overwritten. */
type Op = { kind: 'append'; count: number; size: number; back: number } | { kind: 'hs'; commitBack: number };
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 0, max: 64 }), back: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('hs' as const), commitBack: fc.integer({ min: 0, max: 3 }) }),
);

async function writeOps(wal: Wal, ops: Op[]): Promise<void> {
  let term = 1;
  for (const op of ops) {
    if (op.kind === 'append') {
      const last = wal.lastIndex();
      const start = Math.max(wal.firstIndex(), last + 1 - op.back);
      if (op.back > 0) term++;
      const entries: Entry[] = [];
      for (let i = 0; i < op.count; i++) {
        entries.push({ index: start + i, term, type: EntryType.Normal, data: new Uint8Array(op.size).fill((start + i) & 0xff) });
      }
      await wal.append(entries);
    } else {
      const hs: HardState = { term, vote: 'n1', commit: Math.max(0, wal.lastIndex() - op.commitBack) };
      await wal.append([], hs);
    }
  }
}

function replay(records: WalRecord[]): MemoryLog {
  const m = new MemoryLog();
  for (const r of records) {
    if (r.type === RecordType.Entry) m.appendEntry(r.entry);
    else if (r.type === RecordType.HardState) m.setHardState(r.hardState);
    else m.applySnapshot(r.snapshot);
  }
  return m;
}

test('reopen after truncation at any byte keeps exactly the whole records before it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wal-recovery-'));
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 15 }), fc.nat(), async (ops, cutSeed) => {
        const dir = join(root, `w${run++}`);
        const wal = await Wal.open(dir);
        await writeOps(wal, ops);
        await wal.close();
        const [file] = await readdir(dir);
        const bytes = await readFile(join(dir, file!));
        const scan = scanRecords(bytes);
        const all = scan.records;
        // The file ends in preallocated zeros; cut anywhere in the written part.
        const cut = cutSeed % (scan.validBytes + 1);
        let boundary = 0;
        let whole = 0;
        for (const r of all) {
          const len = encodeRecord(r).length;
          if (boundary + len > cut) break;
          boundary += len;
          whole++;
        }
        const dir2 = join(root, `w${run++}`);
        await mkdir(dir2);
        await writeFile(join(dir2, file!), bytes.subarray(0, cut));
        const truncations: number[] = [];
        const reopened = await Wal.open(dir2, { onTailTruncated: (t) => truncations.push(t.offset) });
        const expected = replay(all.slice(0, whole));
        assert.equal(reopened.lastIndex(), expected.lastIndex());
        assert.equal(reopened.firstIndex(), expected.firstIndex());
        assert.deepEqual(reopened.hardState(), expected.hardState());
        if (expected.lastIndex() >= expected.firstIndex()) {
          assert.deepEqual(
            reopened.entries(reopened.firstIndex(), reopened.lastIndex() + 1, Infinity),
            expected.entries(expected.firstIndex(), expected.lastIndex() + 1, Infinity),
          );
        }
        assert.deepEqual(truncations, cut === boundary ? [] : [boundary]);
        // The repaired WAL takes new writes, and they survive another reopen.
        const next = reopened.lastIndex() + 1;
        await reopened.append([{ index: next, term: 99, type: EntryType.Normal, data: new Uint8Array([7]) }]);
        await reopened.close();
        const again = await Wal.open(dir2);
        assert.equal(again.lastIndex(), next);
        assert.equal(again.term(next), 99);
        await again.close();
      }),
      { numRuns: 60 },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
