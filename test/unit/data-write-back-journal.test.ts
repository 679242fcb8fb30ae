import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';
import { decodeJournal, encodeRecord, JournalWriter, type JournalRecord } from '../../client/data/write-back-journal.js';
import { WriteBackCache } from '../../client/data/write-back-cache.js';
import { makeTempDir } from '../helpers/tmp.js';

const records: JournalRecord[] = [
  { t: 'stage', seq: 1, inodeId: 5, chunkIndex: 0, info: { chunkId: 9, compaction: 0, offset: 10, length: 20, zero: false }, newLength: 30, pieces: [{ key: 'd/ab/1/5/9_0_0', file: '1_0', length: 20 }] },
  { t: 'done', seq: 1 },
  { t: 'stage', seq: 2, inodeId: 6, chunkIndex: 1, info: { chunkId: 10, compaction: 0, offset: 70, length: 5, zero: false }, newLength: 75, pieces: [] },
];

test('a journal cut at any byte keeps exactly its whole records', () => {
  const text = records.map(encodeRecord).join('');
  const ends: number[] = [];
  let pos = 0;
  for (const r of records) ends.push((pos += encodeRecord(r).length));
  for (let cut = 0; cut <= text.length; cut++) {
    const whole = ends.filter((e) => e <= cut).length;
    const { records: got, validBytes } = decodeJournal(text.slice(0, cut));
    assert.deepEqual(got, records.slice(0, whole), `cut at ${cut}`);
    assert.equal(validBytes, whole === 0 ? 0 : ends[whole - 1]);
  }
});

test('a corrupted record ends the journal', () => {
  const lines = records.map(encodeRecord);
  const bad = lines[1]!.replace('"done"', '"dome"');
  assert.deepEqual(decodeJournal(lines[0]! + bad + lines[2]!).records, records.slice(0, 1));
});

test('the writer cuts a torn tail on open and appends after it', async () => {
  const dir = await makeTempDir('journal');
  try {
    const path = `${dir.path}/journal`;
    const text = records.map(encodeRecord).join('');
    await writeFile(path, text.slice(0, text.length - 7));
    const { writer, records: got } = await JournalWriter.open(path);
    assert.deepEqual(got, records.slice(0, 2));
    await Promise.all([writer.append([{ t: 'done', seq: 7 }]), writer.append([{ t: 'done', seq: 8 }])]);
    await writer.close();
    const again = decodeJournal(await readFile(path, 'utf8'));
    assert.deepEqual(again.records, [...records.slice(0, 2), { t: 'done', seq: 7 }, { t: 'done', seq: 8 }]);
  } finally {
    await dir.remove();
  }
});

test('the write-back cache replays staged records and drops orphan files', async () => {
  const dir = await makeTempDir('wbcache');
  try {
    const { cache } = await WriteBackCache.open(dir.path, 1 << 20);
    const info = { chunkId: 3, compaction: 0, offset: 0, length: 4, zero: false };
    const a = await cache.stage({ inodeId: 1, chunkIndex: 0, info, newLength: 4, pieces: [{ key: 'k/a', data: Buffer.from('abcd') }] });
    const b = await cache.stage({ inodeId: 2, chunkIndex: 0, info, newLength: 4, pieces: [{ key: 'k/b', data: Buffer.from('efgh') }] });
    assert.deepEqual(await cache.readStaged('k/a'), Buffer.from('abcd'));
    await cache.complete(a.seq);
    assert.equal(await cache.readStaged('k/a'), null);
    await writeFile(`${dir.path}/staging/999_0`, 'orphan');
    await cache.close();
    const { cache: reopened, replay } = await WriteBackCache.open(dir.path, 1 << 20);
    assert.deepEqual(replay.map((r) => r.seq), [b.seq]);
    assert.deepEqual(await reopened.readPiece(replay[0]!.pieces[0]!), Buffer.from('efgh'));
    assert.equal(await reopened.readStaged('k/orphan'), null);
    const c = await reopened.stage({ inodeId: 3, chunkIndex: 0, info, newLength: 4, pieces: [{ key: 'k/c', data: Buffer.from('ijkl') }] });
    assert.ok(c.seq > b.seq, 'sequence numbers continue after a restart');
    await reopened.close();
  } finally {
    await dir.remove();
  }
});
