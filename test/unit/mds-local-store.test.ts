/**
 * The embedded MDS store: txn semantics, recovery, and crash safety under
 * kill -9 (a child process writes and acknowledges; every acknowledged write
 * must be there after the crash, and the file must load).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CurveError } from '../../src/common/errors.js';
import { LocalFileStore } from '../../mds/store/local-file-store.js';
import { withTempDir } from '../helpers/tmp.js';

const storeModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../mds/store/local-file-store.js');

test('get, put, delete, list by prefix, compare-and-swap', async () => {
  await withTempDir(async (dir) => {
    const store = await LocalFileStore.open(dir);
    assert.equal(await store.get('a'), undefined);
    const r1 = await store.put('a/1', 'one');
    await store.put('a/2', 'two');
    await store.put('b/1', 'other');
    assert.deepEqual((await store.list('a/')).map((kv) => [kv.key, kv.value]), [['a/1', 'one'], ['a/2', 'two']]);
    assert.equal((await store.get('a/1'))!.modRevision, r1);
    // CAS on absence, then on revision.
    assert.equal((await store.txn([{ key: 'a/1', modRevision: 0 }], [{ kind: 'put', key: 'a/1', value: 'x' }])).succeeded, false);
    assert.equal((await store.txn([{ key: 'c', modRevision: 0 }], [{ kind: 'put', key: 'c', value: '1' }])).succeeded, true);
    const c = (await store.get('c'))!;
    const ok = await store.txn([{ key: 'c', modRevision: c.modRevision }], [{ kind: 'put', key: 'c', value: '2' }, { kind: 'delete', key: 'a/2' }]);
    assert.equal(ok.succeeded, true);
    assert.equal((await store.txn([{ key: 'c', modRevision: c.modRevision }], [{ kind: 'put', key: 'c', value: '3' }])).succeeded, false);
    assert.equal((await store.get('c'))!.value, '2');
    assert.equal(await store.get('a/2'), undefined);
    await store.close();
    const reopened = await LocalFileStore.open(dir);
    assert.equal((await reopened.get('c'))!.value, '2');
    assert.equal((await reopened.get('c'))!.modRevision, ok.revision);
    assert.deepEqual((await reopened.list('')).map((kv) => kv.key), ['a/1', 'b/1', 'c']);
    // Revisions keep growing after a reopen.
    assert.ok((await reopened.put('d', 'x')) > ok.revision);
    await reopened.close();
  }, 'mds-store');
});

test('one process at a time: a live owner is refused, a dead one is taken over', async () => {
  await withTempDir(async (dir) => {
    const store = await LocalFileStore.open(dir);
    await assert.rejects(LocalFileStore.open(dir), (e: unknown) => CurveError.is(e) && e.code === 'CURVEFS_ERR_CONFIG');
    await store.close();
    // A pid that cannot be alive (beyond the kernel's pid_max).
    fs.writeFileSync(path.join(dir, 'mds-store.lock'), '2147483646');
    const reopened = await LocalFileStore.open(dir);
    await reopened.close();
  }, 'mds-store');
});

test('a leftover temp file is ignored; a damaged file is refused', async () => {
  await withTempDir(async (dir) => {
    const store = await LocalFileStore.open(dir);
    await store.put('k', 'v');
    await store.close();
    fs.writeFileSync(path.join(dir, 'mds-store.json.tmp'), 'half a write');
    const reopened = await LocalFileStore.open(dir);
    assert.equal((await reopened.get('k'))!.value, 'v');
    await reopened.close();
    const file = path.join(dir, 'mds-store.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"v"', '"w"'));
    await assert.rejects(LocalFileStore.open(dir), (e: unknown) => CurveError.is(e) && e.code === 'CURVEFS_ERR_CORRUPT');
  }, 'mds-store');
});

/** Runs a child that writes key i = i sequentially, printing each acknowledgement; kills it with SIGKILL. */
function crashWriter(dir: string, killAfterAcks: number): Promise<number[]> {
  const script = `
    const { LocalFileStore } = await import(${JSON.stringify(storeModule)});
    const store = await LocalFileStore.open(${JSON.stringify(dir)});
    const start = (await store.list('k/')).length;
    for (let i = start; i < start + 100000; i++) {
      await store.put('k/' + String(i).padStart(6, '0'), String(i));
      process.stdout.write('ack ' + i + '\\n');
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const match = /^ack (\d+)$/.exec(line);
        if (match) acked.push(Number(match[1]));
        if (acked.length >= killAfterAcks) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`writer exited ${code} ${signal}: ${stderr}`));
    });
  });
}

test('kill -9 during writes loses no acknowledged write and leaves a loadable file', async () => {
  await withTempDir(async (dir) => {
    const allAcked: number[] = [];
    for (const killAfter of [1, 17, 40, 63]) {
      const acked = await crashWriter(dir, killAfter);
      allAcked.push(...acked);
      const store = await LocalFileStore.open(dir);
      const keys = new Set((await store.list('k/')).map((kv) => Number(kv.key.slice(2))));
      for (const i of allAcked) assert.ok(keys.has(i), `acknowledged write ${i} survived the crash`);
      // Keys are contiguous from 0: no write applied out of order.
      assert.deepEqual([...keys].sort((a, b) => a - b), [...Array(keys.size).keys()]);
      await store.close();
    }
  }, 'mds-store-crash');
});
