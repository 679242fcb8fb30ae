/**
 * Truncate as one state-machine entry (OpType.Truncate) against a byte
 * model of the file: fast-check generates writes (AppendChunkInfo with a
 * new chunk id, as the data path commits them) and truncates down and up
 * (with the zero records client/data computes, zeroRecordsForExtend), in
 * any order. After every step the inode's length equals the model's, every
 * byte below it resolves (newest record first, DESIGN §5) to the write the
 * model says or to zero, and no record reaches past the length. A resend
 * of a truncate under its request id after later writes is answered, not
 * re-applied; a snapshot round trip keeps it all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { zeroRecordsForExtend } from '../../src/layout/truncate.js';
import { splitByChunk, type LayoutGeometry } from '../../src/layout/geometry.js';
import { decodeSnapshot, encodeSnapshot } from '../../metaserver/partition/snapshot-codec.js';
import type { ChunkInfo } from '../../metaserver/partition/types.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID, dumpState } from '../helpers/meta-ops.js';

const G: LayoutGeometry = { chunkSizeBytes: 64, blockSizeBytes: 16 };
const SPAN = 4 * G.chunkSizeBytes;

type Step =
  | { kind: 'write'; offset: number; length: number }
  | { kind: 'truncate'; length: number; resendLater: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: fc.nat({ max: SPAN - 1 }), length: fc.integer({ min: 1, max: 80 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.nat({ max: SPAN + 40 }), resendLater: fc.boolean() }) },
);

/** What a byte reads as: the chunk id of the write that put it there, 0 for zeros. */
function resolveByte(chunks: ReadonlyMap<number, readonly ChunkInfo[]>, pos: number): number {
  const list = chunks.get(Math.floor(pos / G.chunkSizeBytes)) ?? [];
  let best: ChunkInfo | undefined;
  for (const c of list) {
    if (pos < c.offset || pos >= c.offset + c.length) continue;
    if (best === undefined || c.chunkId > best.chunkId || (c.chunkId === best.chunkId && c.compaction > best.compaction)) best = c;
  }
  return best === undefined || best.zero ? 0 : best.chunkId;
}

function checkAgainstModel(h: MetaHarness, inodeId: number, model: number[], label: string): void {
  const got = h.inode(inodeId);
  assert.equal(got.status, S.OK);
  const inode = got.inode!;
  assert.equal(inode.length, model.length, `${label}: length`);
  for (const [index, list] of inode.chunks) {
    for (const c of list) {
      assert.equal(Math.floor(c.offset / G.chunkSizeBytes), index, `${label}: record in its chunk`);
      assert.ok(c.offset + c.length <= inode.length, `${label}: record [${c.offset}, +${c.length}) past length ${inode.length}`);
    }
  }
  for (let pos = 0; pos < model.length; pos++) {
    assert.equal(resolveByte(inode.chunks, pos), model[pos], `${label}: byte ${pos}`);
  }
}

test('truncate down and up in one entry: every byte reads as the byte model says', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
      const h = new MetaHarness();
      h.setup(1);
      const file = h.createInode(1, FileType.File, ROOT_INODE_ID);
      assert.equal(file.status, S.OK);
      const inodeId = file.inode!.inodeId;
      let model: number[] = [];
      let nextChunkId = 1;
      let resends: { op: Parameters<MetaHarness['apply']>[0]; version: number }[] = [];
      for (const [i, step] of steps.entries()) {
        const label = `step ${i} ${JSON.stringify(step)}`;
        if (step.kind === 'write') {
          const chunkId = nextChunkId++;
          const appends = splitByChunk(G, step.offset, step.length).map((r) => ({
            chunkIndex: r.chunkIndex,
            info: { chunkId, compaction: 0, offset: r.offset, length: r.length, zero: false },
          }));
          const end = step.offset + step.length;
          const r = h.apply({ type: OpType.AppendChunkInfo, partitionId: 1, inodeId, appends, length: end, mtime: h.now() });
          assert.equal(r.status, S.OK, label);
          while (model.length < end) model.push(0);
          for (let pos = step.offset; pos < end; pos++) model[pos] = chunkId;
        } else {
          const old = model.length;
          const zeroAppends = step.length > old ? zeroRecordsForExtend(G, old, step.length, nextChunkId++) : [];
          const op = { type: OpType.Truncate, partitionId: 1, inodeId, length: step.length, zeroAppends, time: h.now(), requestId: `t${i}` } as const;
          const r = h.apply(op);
          assert.equal(r.status, S.OK, label);
          const after = h.inode(inodeId).inode!;
          assert.equal(r.version, after.version, `${label}: answers the new version`);
          assert.deepEqual(after.mtime, op.time, `${label}: mtime from the request`);
          assert.deepEqual(after.ctime, op.time, `${label}: ctime from the request`);
          model = model.slice(0, step.length);
          while (model.length < step.length) model.push(0);
          if (step.resendLater) resends.push({ op, version: r.version! });
        }
        checkAgainstModel(h, inodeId, model, label);
      }
      // Resends of truncates that applied (their replies lost), after later writes: answered, nothing re-applied.
      const before = dumpState(h.sm);
      for (const { op, version } of resends) {
        const r = h.apply(op);
        assert.equal(r.status, S.OK);
        assert.equal(r.version, version, 'a resend is answered with the first outcome');
      }
      resends = [];
      const { appliedIndex: _a, ...was } = before as { appliedIndex: number };
      const { appliedIndex: _b, ...now } = dumpState(h.sm) as { appliedIndex: number };
      assert.deepEqual(now, was, 'resends changed nothing');
      checkAgainstModel(h, inodeId, model, 'after resends');
      const restored = await decodeSnapshot(encodeSnapshot(h.sm));
      assert.deepEqual(dumpState(restored), dumpState(h.sm), 'snapshot round trip');
    }),
    { numRuns: 150, seed: 40_404 },
  );
});

test('truncate refuses, changing nothing: data-carrying or out-of-range zero records, directories, unknown inodes', () => {
  const h = new MetaHarness();
  h.setup(1);
  const inodeId = h.createInode(1, FileType.File, ROOT_INODE_ID).inode!.inodeId;
  const dirId = h.createInode(1, FileType.Directory, ROOT_INODE_ID).inode!.inodeId;
  const zero = (offset: number, length: number, isZero = true) => ({ chunkIndex: Math.floor(offset / G.chunkSizeBytes), info: { chunkId: 9, compaction: 0, offset, length, zero: isZero } });
  const before = dumpState(h.sm);
  const cases: [string, Parameters<MetaHarness['apply']>[0], S][] = [
    ['data record', { type: OpType.Truncate, partitionId: 1, inodeId, length: 100, zeroAppends: [zero(0, 100, false)], time: h.now() }, S.PARAM_ERROR],
    ['zero past the end', { type: OpType.Truncate, partitionId: 1, inodeId, length: 100, zeroAppends: [zero(90, 20)], time: h.now() }, S.PARAM_ERROR],
    ['empty record', { type: OpType.Truncate, partitionId: 1, inodeId, length: 100, zeroAppends: [zero(10, 0)], time: h.now() }, S.PARAM_ERROR],
    ['negative length', { type: OpType.Truncate, partitionId: 1, inodeId, length: -1, zeroAppends: [], time: h.now() }, S.PARAM_ERROR],
    ['bad time', { type: OpType.Truncate, partitionId: 1, inodeId, length: 5, zeroAppends: [], time: { sec: 1, nsec: 1e9 } }, S.PARAM_ERROR],
    ['directory', { type: OpType.Truncate, partitionId: 1, inodeId: dirId, length: 0, zeroAppends: [], time: h.now() }, S.IS_DIR],
    ['unknown inode', { type: OpType.Truncate, partitionId: 1, inodeId: 999, length: 0, zeroAppends: [], time: h.now() }, S.NOT_FOUND],
    ['other partition', { type: OpType.Truncate, partitionId: 2, inodeId, length: 0, zeroAppends: [], time: h.now() }, S.PARTITION_NOT_FOUND],
  ];
  for (const [label, op, expected] of cases) assert.equal(h.apply(op).status, expected, label);
  const { appliedIndex: _a, ...was } = before as { appliedIndex: number };
  const { appliedIndex: _b, ...now } = dumpState(h.sm) as { appliedIndex: number };
  assert.deepEqual(now, was, 'refusals changed nothing');
  assert.equal(h.sm.getInode(FS_ID, 1, inodeId).inode!.version, 1);
});
