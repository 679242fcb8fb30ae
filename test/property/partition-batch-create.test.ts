/**
 * BatchCreateInode against single CreateInode entries: fast-check generates
 * linked creates (names that collide, that are invalid, parents that are a
 * directory, a file, missing or outside the copyset, repeated request ids,
 * a partition that runs out of ids mid-batch) and cuts them into batches.
 * One state machine applies each batch as ONE entry, another applies every
 * item as its own CreateInode entry, both through the Raft entry codec.
 * Every item's result must equal its single create's result, and the two
 * machines must end in the same state (inodes, dentries, partitions,
 * remembered request ids), applied indexes aside. Resending a whole batch
 * afterwards must answer every item that succeeded with the same inode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { decodeEntry, encodeEntry } from '../../metaserver/copyset/op-codec.js';
import { CopysetStateMachine } from '../../metaserver/partition/copyset-state-machine.js';
import type { MetaOp, OpResult } from '../../metaserver/partition/ops.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID, dumpState } from '../helpers/meta-ops.js';

/** Partition 2 has only this many ids: batches run it out. */
const SMALL_PARTITION_IDS = 6;
const NAMES = ['a', 'b', 'c', 'd', 'a/b', 'x'.repeat(256)];

interface Setup {
  readonly dir: number;
  readonly file: number;
}

/** Root, a directory and a file in partition 1; a small partition 2. Applied alike to both machines. */
function setup(h: MetaHarness): Setup {
  h.setup(1);
  const small = MetaHarness.rangeOf(2).start;
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 2, start: small, end: small + SMALL_PARTITION_IDS - 1 }).status, S.OK);
  const dir = h.createInode(1, FileType.Directory, ROOT_INODE_ID).inode!.inodeId;
  assert.equal(h.createDentry(ROOT_INODE_ID, 'dir', dir, FileType.Directory).status, S.OK);
  const file = h.createInode(1, FileType.File, ROOT_INODE_ID).inode!.inodeId;
  assert.equal(h.createDentry(ROOT_INODE_ID, 'file', file, FileType.File).status, S.OK);
  return { dir, file };
}

interface ItemSpec {
  readonly parent: number;
  readonly name: number;
  readonly fileType: number;
  readonly requestId: number;
}

const itemArb: fc.Arbitrary<ItemSpec> = fc.record({
  parent: fc.integer({ min: 0, max: 4 }),
  name: fc.integer({ min: 0, max: NAMES.length - 1 }),
  fileType: fc.integer({ min: 0, max: 2 }),
  requestId: fc.integer({ min: 0, max: 8 }),
});

const batchArb = fc.record({ partitionId: fc.integer({ min: 1, max: 2 }), items: fc.array(itemArb, { minLength: 1, maxLength: 8 }) });

function parentOf(spec: ItemSpec, s: Setup): number {
  // Root and a directory; a file (NOT_DIR); a missing id (NOT_FOUND); an id no partition here holds.
  return [ROOT_INODE_ID, s.dir, s.file, s.dir + 1_000, MetaHarness.rangeOf(9).start][spec.parent]!;
}

function wireItem(spec: ItemSpec, s: Setup, sec: number): Record<string, unknown> {
  const type = [FileType.File, FileType.Directory, FileType.Symlink][spec.fileType]!;
  return {
    type,
    mode: type === FileType.Directory ? 0o40755 : type === FileType.Symlink ? 0o120777 : 0o100644,
    uid: 1,
    gid: 2,
    rdev: 0,
    symlink: type === FileType.Symlink ? '/target' : '',
    parent: parentOf(spec, s),
    timeSec: sec,
    timeNs: 11,
    xattrs: {},
    // 0 = none; a small range so ids repeat within and across batches.
    requestId: spec.requestId === 0 ? '' : `c:${spec.requestId}`,
    dentryName: NAMES[spec.name]!,
  };
}

function applyEntry(sm: CopysetStateMachine, index: number, type: OpType, request: object): OpResult {
  const op = decodeEntry(encodeEntry(type, request)) as MetaOp;
  const result = sm.apply(index, op);
  assert.ok(result !== undefined, 'a new entry applies');
  return result;
}

/** dumpState without applied indexes (one machine used more entries than the other). */
function stateOf(sm: CopysetStateMachine): unknown {
  const dump = dumpState(sm) as { partitions: { info: Record<string, unknown> }[] };
  return {
    partitions: dump.partitions.map((p) => ({ ...p, info: { ...p.info, appliedIndex: 0 } })),
    recent: [...sm.recentRequests],
  };
}

test('a batch answers and changes exactly what its items do as single creates', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.array(batchArb, { minLength: 1, maxLength: 8 }), (batches) => {
      const batched = new MetaHarness();
      const single = new MetaHarness();
      const s = setup(batched);
      assert.deepEqual(setup(single), s);
      let sec = 1_800_000_000;
      const sent: { header: Record<string, number>; items: Record<string, unknown>[]; results: readonly OpResult[] }[] = [];
      for (const b of batches) {
        const header = { poolId: 1, copysetId: 1, partitionId: b.partitionId, fsId: FS_ID };
        const items = b.items.map((spec) => wireItem(spec, s, sec++));
        const got = applyEntry(batched.sm, ++batched.index, OpType.BatchCreateInode, { ...header, items });
        assert.equal(got.status, S.OK);
        const expected = items.map((item) => applyEntry(single.sm, ++single.index, OpType.CreateInode, { ...header, ...item }));
        assert.deepEqual(got.items, expected);
        sent.push({ header, items, results: got.items! });
      }
      assert.deepEqual(stateOf(batched.sm), stateOf(single.sm));

      // Resending a batch: every item that succeeded under a request id gets its inode again, nothing new is made.
      const before = stateOf(batched.sm);
      const last = sent[sent.length - 1]!;
      const again = applyEntry(batched.sm, ++batched.index, OpType.BatchCreateInode, { ...last.header, items: last.items });
      last.items.forEach((item, i) => {
        const first = last.results[i]!;
        if (item['requestId'] !== '' && first.status === S.OK) assert.deepEqual(again.items![i], first);
      });
      const isEveryItemTracked = last.items.every((item, i) => item['requestId'] !== '' && last.results[i]!.status === S.OK);
      if (isEveryItemTracked) assert.deepEqual(stateOf(batched.sm), before);
    }),
    { numRuns: 300 },
  );
});
