import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { makeTempDir } from '../helpers/tmp.js';
import { testObjectStore } from './object-store-conformance.js';

testObjectStore('local directory', async () => {
  const dir = await makeTempDir('objstore');
  const store = new LocalObjectStore(dir.path);
  return {
    store,
    teardown: async () => {
      await store.close();
      await dir.remove();
    },
  };
});
