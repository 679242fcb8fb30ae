/**
 * OpenFiles: concurrent first opens of one inode share one FileData and one
 * session registration; the last release closes it and unregisters, also
 * when the close fails; a failed open leaves no registration behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileData, FileDataApi } from '../../client/vfs/data-api.js';
import type { InodeId, SessionOps } from '../../client/vfs/meta-api.js';
import { OpenFiles } from '../../client/vfs/open-files.js';

class CountingSession implements SessionOps {
  readonly counts = new Map<InodeId, number>();
  async registerOpen(inodeId: InodeId): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.counts.set(inodeId, (this.counts.get(inodeId) ?? 0) + 1);
  }
  async unregisterOpen(inodeId: InodeId): Promise<void> {
    const n = this.counts.get(inodeId) ?? 0;
    assert.ok(n > 0);
    if (n === 1) this.counts.delete(inodeId);
    else this.counts.set(inodeId, n - 1);
  }
}

function dataApi(options: { failOpen?: boolean; failClose?: boolean } = {}): FileDataApi & { opened: number; closed: number } {
  const api = {
    opened: 0,
    closed: 0,
    async open(inodeId: InodeId): Promise<FileData> {
      await new Promise((r) => setImmediate(r));
      if (options.failOpen) throw new Error('open failed');
      api.opened++;
      return {
        inodeId,
        read: async () => 0,
        write: async () => undefined,
        flush: async () => false,
        fsync: async () => false,
        truncate: async () => undefined,
        length: () => 0,
        async close() {
          api.closed++;
          if (options.failClose) throw new Error('close failed');
        },
      };
    },
  };
  return api;
}

const flags = { flags: 0, isReadable: true, isWritable: false, isAppend: false };

test('concurrent first opens share one FileData and one registration', async () => {
  const session = new CountingSession();
  const data = dataApi();
  const files = new OpenFiles(data, session);
  const handles = await Promise.all([1, 2, 3, 4].map(() => files.addFile(7, 0, flags)));
  assert.equal(data.opened, 1);
  assert.equal(session.counts.get(7), 1);
  assert.equal(new Set(handles.map((h) => h.fh)).size, 4);
  assert.ok(handles.every((h) => h.open === handles[0]!.open));
  assert.equal(handles[0]!.open.handleCount, 4);
  for (const h of handles.slice(0, 3)) await files.release(h.fh);
  assert.equal(data.closed, 0);
  await files.release(handles[3]!.fh);
  assert.equal(data.closed, 1);
  assert.equal(session.counts.size, 0);
  assert.equal(files.openInode(7), undefined);
  assert.equal(await files.release(handles[3]!.fh), undefined, 'a second release is a no-op');
});

test('a failing close still unregisters; a failing open leaves nothing registered', async () => {
  const session = new CountingSession();
  const files = new OpenFiles(dataApi({ failClose: true }), session);
  const handle = await files.addFile(9, 0, flags);
  await assert.rejects(files.release(handle.fh), /close failed/);
  assert.equal(session.counts.size, 0);
  assert.equal(files.handleCount, 0);
  const failing = new OpenFiles(dataApi({ failOpen: true }), session);
  await assert.rejects(failing.addFile(10, 0, flags), /open failed/);
  assert.equal(session.counts.size, 0);
  assert.equal(failing.openInode(10), undefined);
});

test('directory handles and file handles get distinct non-zero numbers', async () => {
  const files = new OpenFiles(dataApi(), new CountingSession());
  const dir = files.addDirectory(1);
  const file = await files.addFile(2, 0, flags);
  assert.ok(dir.fh > 0 && file.fh > 0 && dir.fh !== file.fh);
  assert.equal(files.get(dir.fh)?.kind, 'directory');
  assert.equal(files.anyHandle() !== undefined, true);
  await files.release(dir.fh);
  await files.release(file.fh);
  assert.equal(files.anyHandle(), undefined);
});
