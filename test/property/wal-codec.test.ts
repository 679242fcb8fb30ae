/**
 * WAL record codec properties: encode/decode round-trips; a truncated stream
 * yields exactly the records fully before the cut; any byte corruption in the
 * last record is detected (never silently decoded into a different record).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRecord, encodeRecords, RecordType, scanRecords } from '../../src/raft/wal/record-codec.js';
import type { WalRecord } from '../../src/raft/wal/record-codec.js';
import { crc32c } from '../../src/raft/wal/crc32c.js';
import { EntryType } from '../../src/raft/core/types.js';

const safeUint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const nodeId = fc.string({ minLength: 0, maxLength: 12 });

export const arbRecord: fc.Arbitrary<WalRecord> = fc.oneof(
  fc.record({
    index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    term: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
    data: fc.uint8Array({ maxLength: 300 }),
  }).map((entry): WalRecord => ({ type: RecordType.Entry, entry: { ...entry } })),
  fc.record({ term: safeUint, commit: safeUint, vote: nodeId }).map(
    (hardState): WalRecord => ({ type: RecordType.HardState, hardState: { ...hardState } }),
  ),
  fc.record({
    index: safeUint,
    term: safeUint,
    confState: fc.record({
      voters: fc.array(nodeId, { maxLength: 5 }),
      votersOutgoing: fc.array(nodeId, { maxLength: 5 }),
      learners: fc.array(nodeId, { maxLength: 3 }),
    }),
  }).map((snapshot): WalRecord => ({
    type: RecordType.Snapshot,
    snapshot: { index: snapshot.index, term: snapshot.term, confState: { ...snapshot.confState } },
  })),
);

test('crc32c matches the published check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  const bytes = new TextEncoder().encode('hello, write-ahead log');
  // Incremental == one shot.
  assert.equal(crc32c(bytes, crc32c(bytes, 0, 0, 7), 7), crc32c(bytes));
});

test('records round-trip through the codec', () => {
  fc.assert(
    fc.property(fc.array(arbRecord, { maxLength: 20 }), (records) => {
      const scan = scanRecords(encodeRecords(records));
      assert.deepEqual(scan.stop, { kind: 'clean' });
      assert.deepEqual(scan.records, records);
    }),
    { numRuns: 300 },
  );
});

test('a stream cut anywhere keeps exactly the records fully before the cut', () => {
  fc.assert(
    fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 12 }), fc.nat(), (records, cutSeed) => {
      const bytes = encodeRecords(records);
      const cut = cutSeed % (bytes.length + 1);
      const scan = scanRecords(bytes.subarray(0, cut));
      let boundary = 0;
      let whole = 0;
      for (const r of records) {
        const len = encodeRecord(r).length;
        if (boundary + len > cut) break;
        boundary += len;
        whole++;
      }
      assert.equal(scan.validBytes, boundary);
      assert.deepEqual(scan.records, records.slice(0, whole));
      // A partial header that happens to be all zeros reads as unwritten (preallocated) space.
      const tailIsZero = bytes.subarray(boundary, cut).every((b) => b === 0);
      assert.equal(scan.stop.kind, cut === boundary || tailIsZero ? 'clean' : 'torn');
    }),
    { numRuns: 500 },
  );
});

test('corruption of any byte of the last record is detected and cut', () => {
  fc.assert(
    fc.property(
      fc.array(arbRecord, { minLength: 1, maxLength: 8 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (records, posSeed, flip) => {
        const bytes = encodeRecords(records);
        const lastLen = encodeRecord(records[records.length - 1]!).length;
        const lastStart = bytes.length - lastLen;
        const pos = lastStart + (posSeed % lastLen);
        const corrupted = bytes.slice();
        corrupted[pos] = corrupted[pos]! ^ flip;
        const scan = scanRecords(corrupted);
        // Everything before the last record survives; the last one is never
        // returned (changed length → torn/over-limit/crc; changed body → crc).
        assert.equal(scan.validBytes, lastStart);
        assert.deepEqual(scan.records, records.slice(0, -1));
        assert.notEqual(scan.stop.kind, 'clean');
      },
    ),
    { numRuns: 500 },
  );
});
