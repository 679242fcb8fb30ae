/**
 * The copyset state machine against a reference model of a directory tree.
 * fast-check generates sequences of mkdir/create/link/unlink/rmdir/rename
 * (in place, across directories and partitions, replacing files and empty
 * directories, through the one-entry rename or the Percolator transaction,
 * with a client crash at each step of the transaction), chmod and xattr
 * changes. A driver plays the client (inode then dentry, undo on failure,
 * lookups before unlink); a crashed transaction's locks stay until a later
 * step meets one (TX_LOCKED), asks the primary and rolls the whole
 * transaction forward or back, as a reader does. Each step's status must
 * equal the model's, and after the sequence the whole tree, every nlink,
 * parent list and xattr, the to-delete set and a snapshot round trip must
 * agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { checkName } from '../../metaserver/partition/limits.js';
import { decodeSnapshot, encodeSnapshot, SnapshotSession } from '../../metaserver/partition/snapshot-codec.js';
import { TxStatus } from '../../metaserver/partition/partition-tx.js';
import type { OpResult, PrewriteRenameOp, TxInodeChange, TxLockInfo, TxWrite } from '../../metaserver/partition/ops.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID, XattrSetMode, dumpState } from '../helpers/meta-ops.js';

const PARTITIONS = 3;
const NAMES = ['a', 'b', 'c', 'd', 'é', 'x'.repeat(256), 'a/b'];

function nameFor(dir: MNode, ix: number): string {
  if (ix < 5) {
    const names = [...dir.children.keys()].sort();
    return names.length === 0 ? NAMES[ix]! : names[ix % names.length]!;
  }
  return NAMES[ix - 5]!;
}
const XKEYS = ['user.k1', 'user.k2'];

interface MNode {
  readonly id: number;
  readonly type: FileType;
  nlink: number;
  mode: number;
  parents: number[];
  xattrs: Map<string, string>;
  children: Map<string, number>;
}

type Step =
  | { kind: 'make'; dir: number; name: number; isDir: boolean; part: number }
  | { kind: 'link'; file: number; dir: number; name: number }
  | { kind: 'unlink'; dir: number; name: number }
  | { kind: 'rmdir'; dir: number; name: number }
  | { kind: 'rename'; sdir: number; sname: number; ddir: number; dname: number; viaTx: boolean; crash: number }
  | { kind: 'chmod'; node: number; mode: number }
  | { kind: 'setxattr'; node: number; key: number; value: number; mode: number }
  | { kind: 'removexattr'; node: number; key: number };

const nat = fc.nat({ max: 1000 });
/** 0..4: an existing entry of the directory (if any), 5..9: a name from a small pool, 10..11: invalid names. */
const nameIx = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 4 }) },
  { weight: 8, arbitrary: fc.integer({ min: 5, max: 9 }) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 11 }) },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('make' as const), dir: nat, name: nameIx, isDir: fc.boolean(), part: fc.integer({ min: 1, max: PARTITIONS }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('link' as const), file: nat, dir: nat, name: nameIx }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('unlink' as const), dir: nat, name: nameIx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rmdir' as const), dir: nat, name: nameIx }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('rename' as const), sdir: nat, sname: nameIx, ddir: nat, dname: nameIx, viaTx: fc.boolean(), crash: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('chmod' as const), node: nat, mode: fc.nat({ max: 0o777 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setxattr' as const), node: nat, key: fc.nat({ max: 1 }), value: fc.nat({ max: 3 }), mode: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removexattr' as const), node: nat, key: fc.nat({ max: 1 }) }) },
);

class World {
  readonly h = new MetaHarness();
  readonly nodes = new Map<number, MNode>();
  private ts = 100;
  /** Transactions whose client crashed, not yet resolved by anyone. */
  private readonly abandoned: { startTs: number; primary: { fsId: number; parentId: number; name: string } }[] = [];

  constructor() {
    this.h.setup(PARTITIONS);
    this.nodes.set(ROOT_INODE_ID, { id: ROOT_INODE_ID, type: FileType.Directory, nlink: 2, mode: 0o40755, parents: [], xattrs: new Map(), children: new Map() });
  }

  live(type?: FileType): MNode[] {
    return [...this.nodes.values()].filter((n) => n.nlink > 0 && (type === undefined || n.type === type));
  }

  pick(list: MNode[], i: number): MNode {
    return list[i % list.length]!;
  }

  node(id: number): MNode {
    return this.nodes.get(id)!;
  }

  /** The client's path-walk check, on the model's tree. */
  isAncestorOrSelf(ancestorId: number, id: number): boolean {
    let cur = id;
    for (let depth = 0; depth < 1000; depth++) {
      if (cur === ancestorId) return true;
      if (cur === ROOT_INODE_ID) return false;
      cur = this.node(cur).parents[0]!;
    }
    throw new Error('parent chain too long');
  }

  /** Runs a request; on TX_LOCKED resolves the transaction in the way (as a reader does) and retries. */
  retry<T extends { status: number; lock?: TxLockInfo }>(request: () => T): T {
    for (let attempt = 0; attempt < 8; attempt++) {
      const r = request();
      if (r.status !== S.TX_LOCKED) return r;
      assert.ok(r.lock !== undefined, 'TX_LOCKED names the lock');
      this.resolve(r.lock.startTs, r.lock.primary.parentId, r.lock.lockTimeMs + r.lock.ttlMs);
    }
    throw new Error('still locked after 8 resolutions');
  }

  /** Asks the primary, then rolls the primary and every secondary the same way. */
  resolve(startTs: number, primaryParentId: number, nowMs: number): void {
    const primaryPart = MetaHarness.partitionOf(primaryParentId);
    const st = this.h.sm.checkTxStatus(FS_ID, primaryPart, startTs, nowMs);
    let commitTs = 0;
    if (st.txStatus === TxStatus.Committed) commitTs = st.commitTs;
    else if (st.txStatus === TxStatus.Pending) assert.ok(st.isExpired, "a dead client's lock has expired");
    const primary = this.h.apply({ type: OpType.ResolveTxLock, partitionId: primaryPart, startTs, commitTs, nowMs });
    assert.equal(primary.status, S.OK, 'resolve primary');
    for (const p of st.secondaries) {
      const r = this.h.apply({ type: OpType.ResolveTxLock, partitionId: p, startTs, commitTs, nowMs });
      // A secondary already finished (or never prewritten, when rolling back) is fine.
      assert.ok(r.status === S.OK || (commitTs > 0 && r.status === S.NOT_FOUND), `resolve secondary: ${r.status}`);
    }
  }

  /** What a background sweeper does for transactions nobody met. */
  resolveAbandoned(): void {
    for (const tx of this.abandoned.splice(0)) this.resolve(tx.startTs, tx.primary.parentId, Number.MAX_SAFE_INTEGER);
  }

  /** mkdir/create as a client does it: inode first, then the name; undo the inode on failure. */
  private makeOnServer(parentId: number, name: string, type: FileType, partitionId: number): { status: number; inodeId: number } {
    const created = this.h.createInode(partitionId, type, parentId);
    assert.equal(created.status, S.OK);
    const inodeId = created.inode!.inodeId;
    const linked = this.retry(() => this.h.createDentry(parentId, name, inodeId, type));
    if (linked.status !== S.OK) {
      const undo = this.retry(() => this.h.update(inodeId, { nlinkDelta: -created.inode!.nlink, removeParents: [parentId] }));
      assert.equal(undo.status, S.OK, 'undo create');
    }
    return { status: linked.status, inodeId };
  }

  run(step: Step): void {
    switch (step.kind) {
      case 'make':
        return this.make(step);
      case 'link':
        return this.link(step);
      case 'unlink':
        return this.unlink(step.dir, step.name, false);
      case 'rmdir':
        return this.unlink(step.dir, step.name, true);
      case 'rename':
        return this.rename(step);
      case 'chmod': {
        const n = this.pick(this.live(), step.node);
        assert.equal(this.retry(() => this.h.update(n.id, { mode: step.mode })).status, S.OK);
        n.mode = step.mode;
        return;
      }
      case 'setxattr': {
        const n = this.pick(this.live(), step.node);
        const key = XKEYS[step.key]!;
        const value = `v${step.value}`;
        const present = n.xattrs.has(key);
        const expected = step.mode === XattrSetMode.Create && present ? S.EXIST : step.mode === XattrSetMode.Replace && !present ? S.NO_DATA : S.OK;
        const r = this.retry(() => this.h.update(n.id, { setXattrs: new Map([[key, Buffer.from(value)]]), xattrSetMode: step.mode }));
        assert.equal(r.status, expected, 'setxattr');
        if (expected === S.OK) n.xattrs.set(key, value);
        return;
      }
      case 'removexattr': {
        const n = this.pick(this.live(), step.node);
        const key = XKEYS[step.key]!;
        const r = this.retry(() => this.h.update(n.id, { removeXattrs: [key] }));
        assert.equal(r.status, n.xattrs.has(key) ? S.OK : S.NO_DATA, 'removexattr');
        n.xattrs.delete(key);
        return;
      }
    }
  }

  private make(step: Extract<Step, { kind: 'make' }>): void {
    const dir = this.pick(this.live(FileType.Directory), step.dir);
    const name = nameFor(dir, step.name);
    const type = step.isDir ? FileType.Directory : FileType.File;
    const expected = checkName(name) !== S.OK ? checkName(name) : dir.children.has(name) ? S.EXIST : S.OK;
    const r = this.makeOnServer(dir.id, name, type, step.part);
    assert.equal(r.status, expected, `make ${name}`);
    // The created inode exists either way (an undone one is unlinked, waiting for deletion).
    this.nodes.set(r.inodeId, { id: r.inodeId, type, nlink: 0, mode: type === FileType.Directory ? 0o40755 : 0o100644, parents: [], xattrs: new Map(), children: new Map() });
    if (expected !== S.OK) return;
    const n = this.node(r.inodeId);
    n.nlink = step.isDir ? 2 : 1;
    n.parents = [dir.id];
    dir.children.set(name, n.id);
    if (step.isDir) dir.nlink += 1;
  }

  private link(step: Extract<Step, { kind: 'link' }>): void {
    const files = this.live(FileType.File);
    if (files.length === 0) return;
    const file = this.pick(files, step.file);
    const dir = this.pick(this.live(FileType.Directory), step.dir);
    const name = nameFor(dir, step.name);
    const expected = checkName(name) !== S.OK ? checkName(name) : dir.children.has(name) ? S.EXIST : S.OK;
    assert.equal(this.retry(() => this.h.update(file.id, { nlinkDelta: 1, addParents: [dir.id] })).status, S.OK);
    const r = this.retry(() => this.h.createDentry(dir.id, name, file.id, FileType.File));
    assert.equal(r.status, expected, `link ${name}`);
    if (expected !== S.OK) {
      assert.equal(this.retry(() => this.h.update(file.id, { nlinkDelta: -1, removeParents: [dir.id] })).status, S.OK);
      return;
    }
    file.nlink += 1;
    file.parents.push(dir.id);
    dir.children.set(name, file.id);
  }

  private unlink(dirPick: number, nameIndex: number, isRmdir: boolean): void {
    const dir = this.pick(this.live(FileType.Directory), dirPick);
    const name = nameFor(dir, nameIndex);
    const childId = dir.children.get(name);
    const child = childId === undefined ? undefined : this.node(childId);
    let expected: S;
    if (checkName(name) !== S.OK) expected = checkName(name);
    else if (child === undefined) expected = S.NOT_FOUND;
    else if (isRmdir && child.type !== FileType.Directory) expected = S.NOT_DIR;
    else if (!isRmdir && child.type === FileType.Directory) expected = S.IS_DIR;
    else if (isRmdir && child.children.size > 0) expected = S.NOT_EMPTY;
    else expected = S.OK;
    const r = this.retry(() => this.h.deleteDentry(dir.id, name, isRmdir ? FileType.Directory : FileType.File));
    assert.equal(r.status, expected, `${isRmdir ? 'rmdir' : 'unlink'} ${name}`);
    if (expected !== S.OK) return;
    const drop = isRmdir ? -2 : -1;
    assert.equal(this.retry(() => this.h.update(child!.id, { nlinkDelta: drop, removeParents: [dir.id] })).status, S.OK);
    dir.children.delete(name);
    if (isRmdir) dir.nlink -= 1;
    child!.nlink += drop;
    child!.parents.splice(child!.parents.indexOf(dir.id), 1);
  }

  /** The model's rename outcome: status, and the change if OK. */
  private expectRename(sd: MNode, sn: string, dd: MNode, dn: string): S {
    for (const name of [sn, dn]) if (checkName(name) !== S.OK) return checkName(name);
    const srcId = sd.children.get(sn);
    if (srcId === undefined) return S.NOT_FOUND;
    if (sd === dd && sn === dn) return S.OK;
    const dstId = dd.children.get(dn);
    if (dstId === srcId) return S.OK;
    const src = this.node(srcId);
    if (src.type === FileType.Directory && this.isAncestorOrSelf(src.id, dd.id)) return S.PARAM_ERROR;
    if (dstId !== undefined) {
      const dst = this.node(dstId);
      if (src.type === FileType.Directory && dst.type !== FileType.Directory) return S.NOT_DIR;
      if (src.type !== FileType.Directory && dst.type === FileType.Directory) return S.IS_DIR;
      if (dst.children.size > 0) return S.NOT_EMPTY;
    }
    return S.OK;
  }

  private applyRenameToModel(sd: MNode, sn: string, dd: MNode, dn: string): void {
    const src = this.node(sd.children.get(sn)!);
    const dstId = dd.children.get(dn);
    if ((sd === dd && sn === dn) || dstId === src.id) return;
    sd.children.delete(sn);
    if (dstId !== undefined) {
      const dst = this.node(dstId);
      dst.parents.splice(dst.parents.indexOf(dd.id), 1);
      if (dst.type === FileType.Directory) {
        dst.nlink = 0;
        dd.nlink -= 1;
      } else {
        dst.nlink -= 1;
      }
    }
    dd.children.set(dn, src.id);
    if (sd !== dd) {
      src.parents.splice(src.parents.indexOf(sd.id), 1);
      src.parents.push(dd.id);
      if (src.type === FileType.Directory) {
        sd.nlink -= 1;
        dd.nlink += 1;
      }
    }
  }

  private rename(step: Extract<Step, { kind: 'rename' }>): void {
    const dirs = this.live(FileType.Directory);
    const sd = this.pick(dirs, step.sdir);
    const dd = this.pick(dirs, step.ddir);
    const sn = nameFor(sd, step.sname);
    const dn = nameFor(dd, step.dname);
    const expected = this.expectRename(sd, sn, dd, dn);
    const srcId = sd.children.get(sn);
    // The client's own check: a directory never moves below itself (a path walk).
    const isDescendantMove = expected === S.PARAM_ERROR;
    if (isDescendantMove) return;
    if (!step.viaTx || expected !== S.OK || checkName(sn) !== S.OK || checkName(dn) !== S.OK || srcId === undefined) {
      const r = this.retry(() => this.h.rename(sd.id, sn, dd.id, dn));
      assert.equal(r.status, expected, `rename ${sn} → ${dn}`);
      if (expected === S.OK) this.applyRenameToModel(sd, sn, dd, dn);
      return;
    }
    const committed = this.renameTx(sd, sn, dd, dn, step.crash);
    if (committed) this.applyRenameToModel(sd, sn, dd, dn);
  }

  /** The client side of the Percolator rename; returns whether it committed (at the primary). */
  private renameTx(sd: MNode, sn: string, dd: MNode, dn: string, crash: number): boolean {
    const src = this.retry(() => this.h.lookup(sd.id, sn)).dentry!;
    const dst = this.retry(() => this.h.lookup(dd.id, dn)).dentry;
    if ((sd === dd && sn === dn) || dst?.inodeId === src.inodeId) return false; // nothing to do
    const part = MetaHarness.partitionOf;
    const writes = new Map<number, TxWrite[]>();
    const changes = new Map<number, TxInodeChange[]>();
    const emptyDirs = new Map<number, number[]>();
    const add = <T>(m: Map<number, T[]>, k: number, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
    add(writes, part(sd.id), { parentId: sd.id, name: sn, isDelete: true, inodeId: 0, fileType: src.type, expectedInodeId: src.inodeId });
    add(writes, part(dd.id), { parentId: dd.id, name: dn, isDelete: false, inodeId: src.inodeId, fileType: src.type, expectedInodeId: dst?.inodeId ?? 0 });
    if (sd !== dd) add(changes, part(src.inodeId), { inodeId: src.inodeId, nlinkDelta: 0, addParents: [dd.id], removeParents: [sd.id] });
    if (dst !== undefined) {
      const isDir = dst.type === FileType.Directory;
      add(changes, part(dst.inodeId), { inodeId: dst.inodeId, nlinkDelta: isDir ? -2 : -1, addParents: [], removeParents: [dd.id] });
      if (isDir) add(emptyDirs, part(dst.inodeId), dst.inodeId);
    }
    const primaryPart = part(sd.id);
    const secondaries = [1, 2, 3].filter((p) => p !== primaryPart && (writes.has(p) || changes.has(p) || emptyDirs.has(p)));
    const parts = [primaryPart, ...secondaries];
    const startTs = (this.ts += 10);
    const lockTimeMs = startTs * 1000;
    const time = this.h.now();
    const primary = { fsId: FS_ID, parentId: sd.id, name: sn };
    for (const p of parts) {
      const op: Omit<PrewriteRenameOp, 'fsId'> = {
        type: OpType.PrewriteRename, partitionId: p, primary, startTs, ttlMs: 5_000, lockTimeMs, time,
        writes: writes.get(p) ?? [], inodeChanges: changes.get(p) ?? [], emptyDirs: emptyDirs.get(p) ?? [],
        secondaries: p === primaryPart ? secondaries : [],
      };
      // Locks a crashed transaction left on these inodes or directories are resolved first.
      assert.equal(this.retry(() => this.h.apply(op) as OpResult).status, S.OK, 'prewrite');
      if (crash === 1) {
        this.abandoned.push({ startTs, primary });
        return false; // died after prewriting the primary only
      }
    }
    if (crash === 2) {
      this.abandoned.push({ startTs, primary });
      return false; // died before committing
    }
    const commitTs = (this.ts += 1);
    assert.equal(this.h.apply({ type: OpType.CommitRename, partitionId: primaryPart, startTs, commitTs }).status, S.OK, 'commit primary');
    for (const [i, p] of secondaries.entries()) {
      if (crash === 3 || (crash === 4 && i === 1)) {
        this.abandoned.push({ startTs, primary });
        return true; // committed at the primary: readers roll the rest forward
      }
      assert.equal(this.h.apply({ type: OpType.CommitRename, partitionId: p, startTs, commitTs }).status, S.OK, 'commit secondary');
    }
    return true;
  }

  /** The whole server state against the model. */
  check(pageSize: number): void {
    this.resolveAbandoned();
    const seen = new Set<number>();
    const walk = (dir: MNode, depth: number): void => {
      assert.ok(depth < 200, 'tree depth bounded');
      const listed = this.h.listAll(dir.id, pageSize);
      assert.equal(listed.status, S.OK);
      const names = [...dir.children.keys()].sort();
      assert.deepEqual(listed.names, names, `entries of ${dir.id}`);
      assert.deepEqual(listed.ids, names.map((n) => dir.children.get(n)!));
      for (const id of listed.ids) {
        const child = this.node(id);
        if (seen.has(id)) continue;
        seen.add(id);
        if (child.type === FileType.Directory) walk(child, depth + 1);
      }
    };
    walk(this.node(ROOT_INODE_ID), 0);
    const toDelete = new Set<number>();
    for (let p = 1; p <= PARTITIONS; p++) {
      for (const t of this.h.sm.listToDelete(FS_ID, p, 1_000_000)) toDelete.add(t.inodeId);
      const partition = this.h.sm.partition(p)!;
      assert.equal(partition.tx.lockCount(), 0, 'no lock left behind');
      for (const dir of partition.dirs.values()) dir.checkInvariants();
    }
    for (const n of this.nodes.values()) {
      const got = this.h.inode(n.id).inode!;
      assert.equal(got.nlink, n.nlink, `nlink of ${n.id}`);
      assert.equal(got.type, n.type);
      assert.equal(got.mode, n.mode);
      assert.deepEqual([...got.parents].sort(), [...n.parents].sort(), `parents of ${n.id}`);
      assert.deepEqual(new Map([...got.xattrs].map(([k, v]) => [k, Buffer.from(v).toString()])), n.xattrs);
      assert.equal(toDelete.has(n.id), n.nlink === 0, `to-delete membership of ${n.id}`);
      if (n.nlink > 0 && n.id !== ROOT_INODE_ID) assert.ok(seen.has(n.id), `${n.id} reachable`);
    }
  }
}

test('random file-system operations agree with a reference tree, and snapshots restore exactly', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 10, maxLength: 120, size: 'max' }), fc.integer({ min: 1, max: 4 }), async (steps, pageSize) => {
      const world = new World();
      for (const step of steps) world.run(step);
      // Snapshot with whatever crashed transactions left pending; the restored machine carries on.
      const chunks = encodeSnapshot(world.h.sm);
      const restored = await decodeSnapshot(chunks);
      assert.deepEqual(encodeSnapshot(restored), chunks);
      world.h.sm.resetFrom(restored);
      world.check(pageSize);
      world.run({ kind: 'make', dir: 0, name: 0, isDir: true, part: 2 });
      world.check(pageSize);
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
});

test('a snapshot streamed while operations continue is the state at its start (copy-on-write)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(stepArb, { minLength: 5, maxLength: 60, size: 'max' }),
      fc.array(fc.tuple(stepArb, fc.nat({ max: 6 })), { minLength: 1, maxLength: 60, size: 'max' }),
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      async (before, during, batchSize, deletePartition) => {
        const world = new World();
        for (const step of before) world.run(step);
        const expected = dumpState(world.h.sm);
        const session = new SnapshotSession(world.h.sm, { chunkBytes: 64, batchSize });
        const chunks: Uint8Array[] = [];
        // A few chunks, one operation, alternately; the rest of the image after the operations.
        for (const [step, pulls] of during) {
          for (let i = 0; i < pulls; i++) {
            const chunk = session.next();
            if (chunk !== undefined) chunks.push(chunk);
          }
          world.run(step);
        }
        if (deletePartition) {
          // A partition dropped mid-stream is still in the image.
          assert.equal(world.h.apply({ type: OpType.DeletePartition, partitionId: 3 }).status, S.OK);
        }
        chunks.push(...session.drain());
        const restored = await decodeSnapshot(chunks);
        assert.deepEqual(dumpState(restored), expected);
        if (!deletePartition) world.check(3);
      },
    ),
    { numRuns: 300, includeErrorInReport: true },
  );
});
