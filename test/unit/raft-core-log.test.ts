/**
 * The log pieces against naive models: UnstableLog and RaftLog (storage +
 * unstable tail) behave like one plain array of entries under random
 * appends (with truncation), persistence (stableTo) and commits; Progress
 * follows its state diagram.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Inflights } from '../../src/raft/core/inflights.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { Progress, ProgressState } from '../../src/raft/core/progress.js';
import { RaftLog } from '../../src/raft/core/raft-log.js';
import { type Entry, EntryType } from '../../src/raft/core/types.js';

const cs = { voters: ['a'], votersOutgoing: [], learners: [] };
const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index & 255, term & 255]) });

type Op =
  | { kind: 'append'; back: number; count: number; termBump: number }
  | { kind: 'persist' }
  | { kind: 'commit'; ahead: number };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 4 }), termBump: fc.nat(1) }),
  fc.record({ kind: fc.constant('persist' as const) }),
  fc.record({ kind: fc.constant('commit' as const), ahead: fc.nat(3) }),
);

test('RaftLog = storage + unstable behaves like a single array under appends, persistence and commits', () => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40 }), (ops) => {
      const storage = MemoryStorage.withConfState(cs);
      const log = new RaftLog(storage, Number.MAX_SAFE_INTEGER);
      const model: Entry[] = []; // model[i] is index i+1
      let term = 1;
      for (const op of ops) {
        if (op.kind === 'append') {
          // Never truncate committed entries (the log asserts it).
          const from = Math.max(log.committed + 1, model.length + 1 - op.back);
          term += op.termBump;
          const ents: Entry[] = [];
          for (let k = 0; k < op.count; k++) ents.push(ent(from + k, term));
          log.append(ents);
          model.length = from - 1;
          model.push(...ents);
        } else if (op.kind === 'persist') {
          const unstable = log.unstableEntries();
          storage.append(unstable);
          if (unstable.length > 0) log.stableTo(unstable[unstable.length - 1]!.index, unstable[unstable.length - 1]!.term);
          assert.equal(log.unstableEntries().length, 0);
        } else {
          const to = Math.min(model.length, log.committed + op.ahead);
          log.commitTo(to);
        }
        // The views agree.
        assert.equal(log.lastIndex(), model.length);
        assert.equal(log.lastTerm(), model.length === 0 ? 0 : model[model.length - 1]!.term);
        for (let i = 1; i <= model.length; i++) assert.equal(log.term(i), model[i - 1]!.term);
        assert.deepEqual(log.slice(1, model.length + 1, Number.MAX_SAFE_INTEGER), model);
        assert.ok(log.committed <= log.lastIndex());
        // The unstable tail starts at or before the end of storage (it may
        // overwrite a stored suffix once persisted), never after it.
        assert.ok(log.unstable.offset <= storage.lastIndex() + 1);
      }
    }),
    { numRuns: 300 },
  );
});

test('RaftLog.findConflictByTerm returns the largest index whose term is <= the given term', () => {
  const storage = MemoryStorage.withConfState(cs);
  storage.append([ent(1, 1), ent(2, 1), ent(3, 3), ent(4, 3), ent(5, 5)]);
  const log = new RaftLog(storage, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(log.findConflictByTerm(5, 4), { index: 4, term: 3 });
  assert.deepEqual(log.findConflictByTerm(5, 2), { index: 2, term: 1 });
  assert.deepEqual(log.findConflictByTerm(5, 5), { index: 5, term: 5 });
  assert.deepEqual(log.findConflictByTerm(5, 0), { index: 0, term: 0 });
});

test('§5.4.1 isUpToDate compares last term first, then length', () => {
  const storage = MemoryStorage.withConfState(cs);
  storage.append([ent(1, 1), ent(2, 2)]);
  const log = new RaftLog(storage, Number.MAX_SAFE_INTEGER);
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(2, 2), true);
  assert.equal(log.isUpToDate(1, 2), false);
  assert.equal(log.isUpToDate(9, 1), false);
});

test('Progress follows its state diagram (probe, replicate, snapshot)', () => {
  const pr = new Progress({ match: 0, next: 5, inflights: new Inflights(2, 0), isLearner: false, recentActive: true });
  assert.equal(pr.state, ProgressState.Probe);
  assert.equal(pr.isPaused(), false);
  pr.probeSent = true;
  assert.equal(pr.isPaused(), true);
  // A stale reject (not for the outstanding probe) is ignored.
  assert.equal(pr.maybeDecrTo(7, 3), false);
  // The reject of the probe at next-1 = 4 with hint 2 moves next to 3.
  assert.equal(pr.maybeDecrTo(4, 2), true);
  assert.equal(pr.next, 3);
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.maybeUpdate(2), true);
  pr.becomeReplicate();
  assert.equal(pr.next, 3);
  pr.optimisticUpdate(5);
  pr.inflights.add(5, 10);
  pr.optimisticUpdate(8);
  pr.inflights.add(8, 10);
  assert.equal(pr.isPaused(), true);
  // In replicate a reject above match resets next to match+1; below is stale.
  assert.equal(pr.maybeDecrTo(1, 0), false);
  assert.equal(pr.maybeDecrTo(6, 0), true);
  assert.equal(pr.next, 3);
  pr.becomeSnapshot(20);
  assert.equal(pr.isPaused(), true);
  pr.becomeProbe();
  // After a snapshot the next index is past it.
  assert.equal(pr.next, 21);
  assert.ok(pr.match < pr.next);
});
