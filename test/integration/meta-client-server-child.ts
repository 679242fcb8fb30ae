/**
 * A metaserver as its own process for MetaClient tests:
 * `node meta-client-server-child.js HOST:PORT DATA_DIR`. Prints
 * "metaserver ready" once it serves; SIGTERM stops it cleanly, SIGKILL is
 * the crash under test.
 */
import { startMetaserver } from '../../metaserver/index.js';

const [listen, dataDir] = process.argv.slice(2);
if (listen === undefined || dataDir === undefined) {
  console.error('usage: meta-client-server-child HOST:PORT DATA_DIR');
  process.exit(2);
}
const server = await startMetaserver({ listen, dataDir, mds: [], tickMs: 50 });
console.log(`metaserver ready ${server.address}`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
