/**
 * DirIndex (a directory's entries in sorted blocks) against a plain Map:
 * random inserts, replaces and deletes, then every lookup agrees and a
 * paginated listing returns every name exactly once, in order, whatever the
 * page size and even when entries change between pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BLOCK_MAX, DirIndex } from '../../metaserver/partition/dir-index.js';
import { Dentry, FileType } from '../../metaserver/partition/types.js';

const nameArb = fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 3000 }).map((n) => `n${n}`));
const stepArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ put: nameArb, id: fc.nat({ max: 1e6 }) }) },
  { weight: 1, arbitrary: fc.record({ del: nameArb }) },
  { weight: 1, arbitrary: fc.record({ bulk: fc.integer({ min: 0, max: 2 * BLOCK_MAX + 7 }), base: fc.nat({ max: 2000 }) }) },
);

test('DirIndex agrees with a Map and lists every name once in order', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 200, size: 'max' }), fc.integer({ min: 1, max: 97 }), (steps, pageSize) => {
      const index = new DirIndex();
      const model = new Map<string, number>();
      for (const step of steps) {
        if ('put' in step) {
          const old = index.set(new Dentry(1, step.put, step.id + 1, FileType.File, 0));
          assert.equal(old?.inodeId, model.get(step.put));
          model.set(step.put, step.id + 1);
        } else if ('del' in step) {
          assert.equal(index.delete(step.del)?.inodeId, model.get(step.del));
          model.delete(step.del);
        } else {
          for (let i = 0; i < step.bulk; i++) {
            const name = `n${step.base + i}`;
            index.set(new Dentry(1, name, i + 1, FileType.File, 0));
            model.set(name, i + 1);
          }
        }
      }
      index.checkInvariants();
      assert.equal(index.size, model.size);
      for (const [name, id] of model) assert.equal(index.get(name)?.inodeId, id);
      assert.equal(index.get('\u0000absent'), undefined);
      const expected = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const listed: string[] = [];
      let last = '';
      for (let pages = 0; pages <= expected.length + 1; pages++) {
        const page = index.list(last, pageSize);
        listed.push(...page.map((d) => d.name));
        if (page.length < pageSize) break;
        last = page[page.length - 1]!.name;
      }
      assert.deepEqual(listed, expected);
      // Resuming after a name that was deleted meanwhile continues at the next one.
      if (expected.length > 2) {
        const cut = expected[1]!;
        index.delete(cut);
        assert.equal(index.list(cut, 1)[0]?.name, expected[2]);
      }
    }),
    { numRuns: 300 },
  );
});
