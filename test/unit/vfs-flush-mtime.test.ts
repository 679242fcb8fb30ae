/**
 * close/fsync of a written file: the time of the writes goes to the data
 * path's flush, which commits it with the data (no UpdateInode of its own);
 * when the flush did not (nothing to commit, write-back), the Vfs sets it
 * with an UpdateInode, only after the flush resolved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import type { Result } from '../../src/common/errors.js';
import { Vfs } from '../../client/vfs/vfs.js';
import type { FileData, FileDataApi } from '../../client/vfs/data-api.js';
import { OpenFlags } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import type { InodeId, InodeUpdate, Timespec } from '../../client/vfs/meta-api.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected success, got errno ${result.errno}`);
  return result.value;
}

/** The memory data double, recording flushes (and what they were given) and able to refuse carrying the time. */
function world(options: { carriesMtime: boolean }): { meta: MemoryMeta; vfs: Vfs; wall: ManualClock; events: string[]; given: Array<Timespec | undefined> } {
  const wall = new ManualClock(1_700_000_000_000);
  const events: string[] = [];
  const given: Array<Timespec | undefined> = [];
  const meta = new MemoryMeta();
  const update = meta.updateInode.bind(meta);
  meta.updateInode = async (inodeId: InodeId, u: InodeUpdate) => {
    events.push(`update ${'length' in u ? 'data' : 'time'}`);
    return update(inodeId, u);
  };
  const inner = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
  const data: FileDataApi = {
    async open(inodeId, lengthBytes) {
      const d = await inner.open(inodeId, lengthBytes);
      const wrap = (f: (m?: Timespec) => Promise<boolean>) => async (mtime?: Timespec) => {
        given.push(mtime);
        events.push('flush start');
        const carried = await f(options.carriesMtime ? mtime : undefined);
        events.push('flush end');
        return carried;
      };
      const out: FileData = { ...d, inodeId, flush: wrap((m) => d.flush(m)), fsync: wrap((m) => d.fsync(m)), length: () => d.length() };
      return out;
    },
  };
  const cacheClock = new ManualClock(0);
  const vfs = new Vfs({ meta, data, wallClock: wall, cacheClock, attrTtlMs: 1000, entryTtlMs: 1000 });
  return { meta, vfs, wall, events, given };
}

test('write then close: the time of the write is committed with the data, no separate UpdateInode', async () => {
  const { meta, vfs, wall, events, given } = world({ carriesMtime: true });
  const fh = value(await vfs.create(ROOT_CALLER, '/f', 0o644, OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
  wall.advance(1_000);
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from('hello')));
  const writeTime = timespecFromMs(wall.nowMs());
  wall.advance(1_000);
  events.length = 0;
  value(await vfs.flush(ROOT_CALLER, fh));
  assert.deepEqual(given, [writeTime]);
  assert.deepEqual(events, ['flush start', 'update data', 'flush end']);
  const st = value(await vfs.getattr(ROOT_CALLER, '/f'));
  assert.deepEqual([st.size, st.mtime, st.ctime], [5, writeTime, writeTime]);
  // Nothing written since: the next close sends no time and changes nothing.
  const updates = meta.callCount('updateInode');
  value(await vfs.flush(ROOT_CALLER, fh));
  assert.equal(given[1], undefined);
  value(await vfs.release(ROOT_CALLER, fh));
  assert.equal(meta.callCount('updateInode'), updates);
  const again = value(await vfs.getattr(ROOT_CALLER, '/f'));
  assert.deepEqual([again.mtime, again.ctime], [writeTime, writeTime]);
});

test('fsync passes the time the same way', async () => {
  const { vfs, wall, events } = world({ carriesMtime: true });
  const fh = value(await vfs.create(ROOT_CALLER, '/g', 0o644, OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
  wall.advance(500);
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from('x')));
  const writeTime = timespecFromMs(wall.nowMs());
  events.length = 0;
  value(await vfs.fsync(ROOT_CALLER, fh, false));
  assert.deepEqual(events, ['flush start', 'update data', 'flush end']);
  const st = value(await vfs.fgetattr(ROOT_CALLER, fh));
  assert.deepEqual([st.mtime, st.ctime], [writeTime, writeTime]);
  value(await vfs.release(ROOT_CALLER, fh));
});

test('a flush that did not commit the time: an UpdateInode sets it, after the data, not beside it', async () => {
  const { vfs, wall, events } = world({ carriesMtime: false });
  const fh = value(await vfs.create(ROOT_CALLER, '/h', 0o644, OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
  wall.advance(1_000);
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from('hello')));
  const writeTime = timespecFromMs(wall.nowMs());
  wall.advance(1_000);
  events.length = 0;
  value(await vfs.flush(ROOT_CALLER, fh));
  assert.deepEqual(events, ['flush start', 'update data', 'flush end', 'update time']);
  value(await vfs.release(ROOT_CALLER, fh));
  const st = value(await vfs.getattr(ROOT_CALLER, '/h'));
  assert.deepEqual([st.size, st.mtime, st.ctime], [5, writeTime, writeTime]);
});
