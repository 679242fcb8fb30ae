/**
 * The Vfs's hot-directory listings and statahead (KnownNames) against a
 * model, under random interleavings of two clients (two Vfs instances on
 * one metadata store) and clock steps:
 * - this client's own committed changes show at once (a name it created is
 *   there, one it removed or renamed away is gone, a chmod shows);
 * - the other client's changes may be missed for at most the cache TTL:
 *   once a TTL has passed with no change, every name and mode reads as the
 *   store holds it;
 * - O_EXCL stays exclusive whatever the caches say.
 * Bursts of lookups (stat loops, some after every cache entry expired)
 * make the directory hot so listings and stataheads happen often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../src/common/clock.js';
import { Errno } from '../../src/common/errno.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { OpenFlags } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const TTL_MS = 1_000;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];

type Op =
  | { kind: 'create' | 'unlink' | 'chmod' | 'stat'; who: 'us' | 'them'; name: string }
  | { kind: 'rename'; who: 'us' | 'them'; name: string; to: string }
  | { kind: 'statLoop'; isCold: boolean }
  | { kind: 'advance'; ms: number };

const name = fc.constantFrom(...NAMES);
const who = fc.constantFrom<'us' | 'them'>('us', 'us', 'them');
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant<'create'>('create'), who, name }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom<'unlink' | 'chmod' | 'stat'>('unlink', 'chmod', 'stat'), who, name }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant<'rename'>('rename'), who, name, to: name }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant<'statLoop'>('statLoop'), isCold: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant<'advance'>('advance'), ms: fc.integer({ min: 0, max: 700 }) }), weight: 2 },
);

/** The kernel's view of a name: mode bits, or null when absent. */
async function view(vfs: Vfs, n: string): Promise<number | null> {
  const st = await vfs.getattr(ROOT_CALLER, `/d/${n}`);
  if (!st.ok) {
    assert.equal(st.errno, Errno.ENOENT);
    return null;
  }
  return st.value.mode & 0o7777;
}

test("own changes show at once, the other client's within one TTL, O_EXCL stays exclusive", async () => {
  let listings = 0;
  let stataheads = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
      const wall = new ManualClock(1_700_000_000_000);
      const cacheClock = new ManualClock(0);
      const meta = new MemoryMeta();
      const store = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
      const make = (): Vfs => new Vfs({ meta, data: store, wallClock: wall, cacheClock, attrTtlMs: TTL_MS, entryTtlMs: TTL_MS, negativeEntryTtlMs: TTL_MS });
      const us = make();
      const them = make();
      assert.ok((await us.mkdir(ROOT_CALLER, '/d', 0o755)).ok);
      const dir = await us.getattr(ROOT_CALLER, '/d');
      assert.ok(dir.ok);
      /** The store's truth for a name: its mode bits, or null. */
      const truth = async (n: string): Promise<number | null> => {
        const dentry = await meta.getDentry(dir.value.ino, n);
        return dentry === null ? null : (await meta.getInodeAttr(dentry.inodeId)).mode & 0o7777;
      };
      const lastChangeMs = { us: -Infinity, them: -Infinity };
      /**
       * No change by the other client for a TTL: `who`'s view must be exact. Each client caches,
       * so "them" may act on a stale view of our changes just as we may of theirs.
       */
      const isQuietFor = (who: 'us' | 'them'): boolean => cacheClock.nowMs() - lastChangeMs[who === 'us' ? 'them' : 'us'] > TTL_MS;
      const isQuiet = (): boolean => isQuietFor('us');
      let nextMode = 0o600;

      for (const o of ops) {
        if (o.kind === 'advance') {
          cacheClock.advance(o.ms);
          wall.advance(o.ms);
          continue;
        }
        if (o.kind === 'statLoop') {
          // Cold: every cached entry has expired (stat after drop_caches), so found names miss too.
          if (o.isCold) cacheClock.advance(TTL_MS + 1);
          for (let round = 0; round < 2; round++) for (const n of NAMES) await view(us, n);
          continue;
        }
        const vfs = o.who === 'us' ? us : them;
        const path = `/d/${o.name}`;
        if (o.kind === 'stat') {
          const seen = await view(vfs, o.name);
          if (o.who === 'us' && isQuiet()) assert.equal(seen, await truth(o.name), `stat ${o.name}`);
          continue;
        }
        let ok = false;
        if (o.kind === 'create') {
          const existed = (await truth(o.name)) !== null;
          const fh = await vfs.create(ROOT_CALLER, path, 0o644, OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY);
          if (existed) assert.equal(fh.ok ? 0 : fh.errno, Errno.EEXIST, `O_EXCL create of existing ${o.name}`);
          else if (isQuietFor(o.who)) assert.ok(fh.ok, `create ${o.name}`);
          if (fh.ok) assert.ok((await vfs.release(ROOT_CALLER, fh.value)).ok);
          ok = fh.ok;
        } else if (o.kind === 'unlink') {
          ok = (await vfs.unlink(ROOT_CALLER, path)).ok;
        } else if (o.kind === 'chmod') {
          ok = (await vfs.chmod(ROOT_CALLER, path, nextMode++ & 0o777)).ok;
        } else if (o.kind === 'rename') {
          ok = (await vfs.rename(ROOT_CALLER, path, `/d/${o.to}`)).ok;
        }
        if (!ok) continue;
        lastChangeMs[o.who] = cacheClock.nowMs();
        if (o.who === 'us' && isQuiet()) {
          // Our own change shows at once.
          const names = o.kind === 'rename' ? [o.name, o.to] : [o.name];
          for (const n of names) assert.equal(await view(us, n), await truth(n), `own ${o.kind} of ${n}`);
        }
      }
      // Once a TTL has passed, everything reads as the store holds it.
      cacheClock.advance(TTL_MS + 1);
      for (const n of NAMES) assert.equal(await view(us, n), await truth(n), `after the TTL: ${n}`);
      listings += meta.callCount('listDentry');
      stataheads += meta.callCount('batchGetInodeAttr');
    }),
    { numRuns: 300 },
  );
  // The runs did exercise what they check.
  assert.ok(listings > 50 && stataheads > 10, `listings ${listings}, stataheads ${stataheads}`);
});
