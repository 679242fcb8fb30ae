/**
 * The one-entry Rename checks what the client's lookups saw and refuses a
 * directory moved into its own subtree, against a reference tree: fast-check
 * builds directories and files over three partitions of one copyset and
 * renames with true or stale expectations (src inode id, dst inode id or 0
 * for "absent"), including moves the client's path walk would have refused
 * had it not raced. Every status must be the model's, a refused rename must
 * change nothing, and at the end the whole tree and every parent list must
 * agree. The Percolator prewrite refuses a directory put below itself when
 * the chain is in its partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID, dumpState } from '../helpers/meta-ops.js';

const NAMES = ['a', 'b', 'c', 'd'];
const PARTITIONS = 3;

interface MNode {
  readonly id: number;
  readonly type: FileType;
  parent: number;
  readonly children: Map<string, number>;
}

type Step =
  | { kind: 'make'; dir: number; name: number; isDir: boolean; part: number }
  | { kind: 'rename'; sdir: number; sname: number; ddir: number; dname: number; srcClaim: number; dstClaim: number; pick: number };

const nat = fc.nat({ max: 1000 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('make' as const), dir: nat, name: fc.nat({ max: 3 }), isDir: fc.boolean(), part: fc.integer({ min: 1, max: PARTITIONS }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('rename' as const), sdir: nat, sname: fc.nat({ max: 3 }), ddir: nat, dname: fc.nat({ max: 3 }),
      // 0: what is really there; 1: another inode (stale); 2 (dst only): "absent".
      srcClaim: fc.nat({ max: 3 }), dstClaim: fc.nat({ max: 4 }), pick: nat,
    }),
  },
);

class Tree {
  readonly h = new MetaHarness();
  readonly nodes = new Map<number, MNode>();

  constructor() {
    this.h.setup(PARTITIONS);
    this.nodes.set(ROOT_INODE_ID, { id: ROOT_INODE_ID, type: FileType.Directory, parent: 0, children: new Map() });
  }

  dirs(): MNode[] {
    return [...this.nodes.values()].filter((n) => n.type === FileType.Directory).sort((a, b) => a.id - b.id);
  }

  isAncestorOrSelf(ancestor: number, id: number): boolean {
    for (let cur = id, depth = 0; depth < 1000; depth++) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INODE_ID) return false;
      cur = this.nodes.get(cur)!.parent;
    }
    throw new Error('parent chain too long');
  }

  make(step: Extract<Step, { kind: 'make' }>): void {
    const dirs = this.dirs();
    const dir = dirs[step.dir % dirs.length]!;
    const name = NAMES[step.name]!;
    const type = step.isDir ? FileType.Directory : FileType.File;
    const r = this.h.make(dir.id, name, type, step.part);
    assert.equal(r.status, dir.children.has(name) ? S.EXIST : S.OK, `make ${name}`);
    if (r.status === S.OK) {
      dir.children.set(name, r.inodeId);
      this.nodes.set(r.inodeId, { id: r.inodeId, type, parent: dir.id, children: new Map() });
    }
  }

  rename(step: Extract<Step, { kind: 'rename' }>): void {
    const dirs = this.dirs();
    const sd = dirs[step.sdir % dirs.length]!;
    const dd = dirs[step.ddir % dirs.length]!;
    const sn = NAMES[step.sname]!;
    const dn = NAMES[step.dname]!;
    const srcId = sd.children.get(sn);
    const dstId = dd.children.get(dn);
    const all = [...this.nodes.keys()].filter((id) => id !== ROOT_INODE_ID).sort((a, b) => a - b);
    const other = all.length === 0 ? 999_999 : all[step.pick % all.length]!;
    const srcClaim = step.srcClaim === 1 || srcId === undefined ? other : srcId;
    const dstClaim = step.dstClaim === 1 ? other : step.dstClaim === 2 ? 0 : (dstId ?? 0);
    const expected = this.expect(sd, sn, dd, dn, srcClaim, dstClaim);
    const before = dumpState(this.h.sm) as { partitions: { inodes: unknown; dirs: unknown }[] };
    const r = this.h.apply({
      type: OpType.Rename, partitionId: MetaHarness.partitionOf(sd.id), srcParentId: sd.id, srcName: sn, dstParentId: dd.id, dstName: dn,
      time: this.h.now(), srcInodeId: srcClaim, expectedDstInodeId: dstClaim,
    });
    assert.equal(r.status, expected, `rename ${sd.id}/${sn}(${srcId}, claimed ${srcClaim}) → ${dd.id}/${dn}(${dstId}, claimed ${dstClaim})`);
    if (r.status !== S.OK) {
      const after = dumpState(this.h.sm) as typeof before;
      assert.deepEqual(after.partitions.map((p) => [p.inodes, p.dirs]), before.partitions.map((p) => [p.inodes, p.dirs]), 'a refused rename changes nothing');
      return;
    }
    if ((sd === dd && sn === dn) || dstId === srcId) return;
    const src = this.nodes.get(srcId!)!;
    sd.children.delete(sn);
    if (dstId !== undefined) this.nodes.delete(dstId);
    dd.children.set(dn, src.id);
    src.parent = dd.id;
  }

  private expect(sd: MNode, sn: string, dd: MNode, dn: string, srcClaim: number, dstClaim: number): S {
    const srcId = sd.children.get(sn);
    if (srcId === undefined || srcId !== srcClaim) return S.NOT_FOUND;
    if (sd === dd && sn === dn) return S.OK;
    const dstId = dd.children.get(dn);
    if ((dstId ?? 0) !== dstClaim) return S.EXIST;
    if (dstId === srcId) return S.OK;
    const src = this.nodes.get(srcId)!;
    if (src.type === FileType.Directory && this.isAncestorOrSelf(src.id, dd.id)) return S.PARAM_ERROR;
    if (dstId !== undefined) {
      const dst = this.nodes.get(dstId)!;
      if (src.type === FileType.Directory && dst.type !== FileType.Directory) return S.NOT_DIR;
      if (src.type !== FileType.Directory && dst.type === FileType.Directory) return S.IS_DIR;
      if (dst.children.size > 0) return S.NOT_EMPTY;
    }
    return S.OK;
  }

  /** The machine's tree equals the model's: names, targets and parent lists. */
  verify(): void {
    for (const dir of this.dirs()) {
      const listed = this.h.listAll(dir.id, 3);
      assert.equal(listed.status, S.OK);
      const want = [...dir.children.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      assert.deepEqual(listed.names.map((n, i) => [n, listed.ids[i]]), want, `entries of ${dir.id}`);
    }
    for (const node of this.nodes.values()) {
      if (node.id === ROOT_INODE_ID) continue;
      const got = this.h.inode(node.id);
      assert.equal(got.status, S.OK);
      assert.deepEqual(got.inode!.parents, [node.parent], `parents of ${node.id}`);
      assert.ok(got.inode!.nlink > 0, `${node.id} is linked`);
    }
  }
}

test('one-entry rename: stale src / dst expectations and moves into the own subtree are refused, nothing changes', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
      const tree = new Tree();
      for (const step of steps) {
        if (step.kind === 'make') tree.make(step);
        else tree.rename(step);
      }
      tree.verify();
    }),
    { numRuns: 300, seed: 4_2024 },
  );
});

test('a directory chain deeper than one partition: the walk crosses partitions of the copyset', () => {
  const h = new MetaHarness();
  h.setup(PARTITIONS);
  // /top/p2/p3/p1 with each level in another partition.
  const top = h.make(ROOT_INODE_ID, 'top', FileType.Directory, 1).inodeId;
  const l2 = h.make(top, 'l2', FileType.Directory, 2).inodeId;
  const l3 = h.make(l2, 'l3', FileType.Directory, 3).inodeId;
  const l4 = h.make(l3, 'l4', FileType.Directory, 1).inodeId;
  for (const into of [top, l2, l3, l4]) {
    const r = h.apply({
      type: OpType.Rename, partitionId: 1, srcParentId: ROOT_INODE_ID, srcName: 'top', dstParentId: into, dstName: 'loop', time: h.now(),
    });
    assert.equal(r.status, S.PARAM_ERROR, `top into ${into} (unchecked request, the server still walks)`);
  }
  assert.equal(h.lookup(ROOT_INODE_ID, 'top').dentry?.inodeId, top);
  const ok = h.apply({ type: OpType.Rename, partitionId: MetaHarness.partitionOf(l3), srcParentId: l3, srcName: 'l4', dstParentId: ROOT_INODE_ID, dstName: 'l4', time: h.now() });
  assert.equal(ok.status, S.OK, 'moving up is fine');
});

test('Percolator prewrite: a directory put below itself is refused when the chain is in the partition', () => {
  const h = new MetaHarness();
  h.setup(1);
  const a = h.make(ROOT_INODE_ID, 'a', FileType.Directory).inodeId;
  const b = h.make(a, 'b', FileType.Directory).inodeId;
  const c = h.make(b, 'c', FileType.Directory).inodeId;
  const prewrite = (startTs: number, parentId: number) =>
    h.apply({
      type: OpType.PrewriteRename, partitionId: 1, primary: { fsId: FS_ID, parentId, name: 'x' }, startTs, ttlMs: 5_000, lockTimeMs: 1, time: h.now(),
      writes: [{ parentId, name: 'x', isDelete: false, inodeId: a, fileType: FileType.Directory, expectedInodeId: 0 }],
      inodeChanges: [], emptyDirs: [],
    });
  assert.equal(prewrite(10, c).status, S.PARAM_ERROR);
  assert.equal(prewrite(11, a).status, S.PARAM_ERROR);
  assert.equal(h.sm.partition(1)!.tx.lockCount(), 0, 'nothing locked');
  assert.equal(prewrite(12, ROOT_INODE_ID).status, S.OK, 'a put elsewhere locks as before');
});
