/**
 * The binary codec for messages, ConfChanges and entries: round trips for
 * arbitrary values (fast-check) and rejection of malformed input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CorruptionError } from '../../src/common/errors.js';
import {
  decodeConfChange,
  decodeEntries,
  decodeMessage,
  decodeSnapshotMeta,
  encodeConfChange,
  encodeEntries,
  encodeMessage,
  encodeSnapshotMeta,
} from '../../src/raft/core/codec.js';
import { MESSAGE_TYPE_COUNT, type Message, type MessageType } from '../../src/raft/core/messages.js';
import { type ConfChange, type ConfState, type Entry, EntryType } from '../../src/raft/core/types.js';

const arbU64 = fc.maxSafeNat();
const arbId = fc.string({ maxLength: 12 });
const arbBytes = fc.uint8Array({ maxLength: 64 });
const arbEntry: fc.Arbitrary<Entry> = fc.record({
  term: arbU64,
  index: arbU64,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: arbBytes,
}, { noNullPrototype: true });
const arbConfState: fc.Arbitrary<ConfState> = fc.record({
  voters: fc.array(arbId, { maxLength: 5 }),
  votersOutgoing: fc.array(arbId, { maxLength: 5 }),
  learners: fc.array(arbId, { maxLength: 5 }),
  learnersNext: fc.array(arbId, { maxLength: 3 }),
  autoLeave: fc.boolean(),
}, { noNullPrototype: true });
const arbMessage: fc.Arbitrary<Message> = fc.record({
  type: fc.integer({ min: 0, max: MESSAGE_TYPE_COUNT - 1 }).map((t) => t as MessageType),
  to: arbId,
  from: arbId,
  term: arbU64,
  logTerm: arbU64,
  index: arbU64,
  entries: fc.array(arbEntry, { maxLength: 5 }),
  commit: arbU64,
  reject: fc.boolean(),
  rejectHint: arbU64,
  snapshot: fc.option(fc.record({ index: arbU64, term: arbU64, confState: arbConfState }, { noNullPrototype: true }), { nil: null }),
  context: arbBytes,
}, { noNullPrototype: true });
const arbConfChange: fc.Arbitrary<ConfChange> = fc.record({
  transition: fc.constantFrom(0, 1, 2),
  changes: fc.array(fc.record({ type: fc.constantFrom(0, 1, 2), nodeId: arbId }, { noNullPrototype: true }), { maxLength: 6 }),
  context: arbBytes,
}, { noNullPrototype: true });

test('codec: any message survives an encode/decode round trip', () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    }),
    { numRuns: 1000 },
  );
});

test('codec: any ConfChange, entry list and snapshot meta survive a round trip', () => {
  fc.assert(
    fc.property(arbConfChange, fc.array(arbEntry, { maxLength: 8 }), arbConfState, arbU64, arbU64, (cc, ents, cs, i, t) => {
      assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
      assert.deepEqual(decodeEntries(encodeEntries(ents)), ents);
      const meta = { index: i, term: t, confState: cs };
      assert.deepEqual(decodeSnapshotMeta(encodeSnapshotMeta(meta)), meta);
    }),
    { numRuns: 500 },
  );
});

test('codec: every truncation of a message is rejected with CorruptionError', () => {
  fc.assert(
    fc.property(arbMessage, fc.nat(), (m, cut) => {
      const buf = encodeMessage(m);
      const at = cut % buf.byteLength;
      assert.throws(() => decodeMessage(buf.subarray(0, at)), CorruptionError);
    }),
    { numRuns: 500 },
  );
});

test('codec: arbitrary bytes never decode into garbage silently (they throw CorruptionError or round-trip)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (buf) => {
      try {
        const m = decodeMessage(buf);
        assert.deepEqual(encodeMessage(m), buf);
      } catch (err) {
        assert.ok(err instanceof CorruptionError, String(err));
      }
      try {
        const cc = decodeConfChange(buf);
        assert.deepEqual(encodeConfChange(cc), buf);
      } catch (err) {
        assert.ok(err instanceof CorruptionError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('codec: trailing bytes and unknown versions are rejected', () => {
  const m = encodeMessage({
    type: 3 as MessageType,
    to: 'a',
    from: 'b',
    term: 1,
    logTerm: 1,
    index: 1,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: new Uint8Array(0),
  });
  const longer = new Uint8Array(m.byteLength + 1);
  longer.set(m);
  assert.throws(() => decodeMessage(longer), CorruptionError);
  const badVersion = m.slice();
  badVersion[0] = 9;
  assert.throws(() => decodeMessage(badVersion), CorruptionError);
});
