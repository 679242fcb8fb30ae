import { test } from 'node:test';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { makeTempDir } from '../helpers/tmp.js';
import { runDataModel } from './data-model.js';

test('data path matches a reference file: local backend, random ops', async () => {
  const dir = await makeTempDir('datamodel');
  try {
    const store = new LocalObjectStore(dir.path);
    for (const seed of [1, 2, 3, 4, 5, 6]) await runDataModel({ seed, ops: 400, store });
    await runDataModel({ seed: 7, ops: 400, store, client: { diskCache: { dir: `${dir.path}/rcache`, limitBytes: 1 << 20, writeBack: false } } });
  } finally {
    await dir.remove();
  }
});

test('data path matches a reference file: local backend, write-back disk cache', async () => {
  const dir = await makeTempDir('datamodel-wb');
  try {
    const store = new LocalObjectStore(`${dir.path}/store`);
    for (const seed of [11, 12, 13]) {
      await runDataModel({ seed, ops: 400, store, client: { diskCache: { dir: `${dir.path}/cache${seed}`, limitBytes: 4 << 20, writeBack: true } } });
    }
  } finally {
    await dir.remove();
  }
});
