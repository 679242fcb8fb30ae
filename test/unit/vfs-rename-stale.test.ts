/**
 * rename(2) through a VFS whose cached lookups another client made stale:
 * the metadata service refuses a rename whose src / dst no longer name what
 * the caller saw (NOT_FOUND / EXIST), changing nothing; the VFS looks again
 * and renames what the names are now, instead of failing with an errno
 * rename(2) never returns for it (EEXIST over a file) or a false ENOENT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import type { Result } from '../../src/common/errors.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { OpenFlags } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC } = OpenFlags;

function twoClients(): { a: Vfs; b: Vfs; meta: MemoryMeta } {
  const wall = new ManualClock(1_700_000_000_000);
  const cacheClock = new ManualClock(0);
  const meta = new MemoryMeta();
  const store = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
  // Long TTLs: nothing ages out during the test, so every stale entry stays stale.
  const make = () => new Vfs({ meta, data: store, wallClock: wall, cacheClock, attrTtlMs: 60_000, entryTtlMs: 60_000, negativeEntryTtlMs: 60_000 });
  return { a: make(), b: make(), meta };
}

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected success, got errno ${result.errno}`);
  return result.value;
}

async function writeFile(vfs: Vfs, path: string, text: string): Promise<void> {
  const fh = value(await vfs.create(ROOT_CALLER, path, 0o644, O_CREAT | O_WRONLY | O_TRUNC));
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from(text)));
  value(await vfs.flush(ROOT_CALLER, fh));
  value(await vfs.release(ROOT_CALLER, fh));
}

async function readFile(vfs: Vfs, path: string): Promise<string> {
  const fh = value(await vfs.open(ROOT_CALLER, path, O_RDONLY));
  const into = Buffer.alloc(1024);
  const n = value(await vfs.read(ROOT_CALLER, fh, 0, into.length, into));
  value(await vfs.release(ROOT_CALLER, fh));
  return into.subarray(0, n).toString();
}

test('a destination another client created after our negative lookup is replaced, not EEXIST', async () => {
  const { a, b } = twoClients();
  assert.equal((await b.getattr(ROOT_CALLER, '/dst')).ok, false, 'b caches: /dst absent');
  await writeFile(a, '/dst', 'theirs');
  await writeFile(b, '/src', 'ours');
  value(await b.rename(ROOT_CALLER, '/src', '/dst'));
  assert.equal(await readFile(a, '/dst'), 'ours');
  assert.equal((await a.getattr(ROOT_CALLER, '/src')).ok, false);
});

test('a source another client replaced after our lookup: the name as it is now moves', async () => {
  const { a, b } = twoClients();
  await writeFile(a, '/name', 'first');
  assert.equal(await readFile(b, '/name'), 'first', 'b caches /name → the first inode');
  value(await a.rename(ROOT_CALLER, '/name', '/kept'));
  await writeFile(a, '/name', 'second');
  value(await b.rename(ROOT_CALLER, '/name', '/moved'));
  assert.equal(await readFile(a, '/moved'), 'second');
  assert.equal(await readFile(a, '/kept'), 'first', 'the inode b had cached was left alone');
});
