/**
 * One metaserver process for the metadata benchmark (bench/meta-bench.ts):
 * `node dist/bench/meta-bench-server.js HOST:PORT DATA_DIR`. Prints
 * "metaserver ready" once it serves, stops cleanly on SIGTERM. (The
 * `curvefs metaserver` command will replace it once the CLI runs it.)
 */
import { startMetaserver } from '../metaserver/index.js';

const [listen, dataDir] = process.argv.slice(2);
if (listen === undefined || dataDir === undefined) {
  console.error('usage: meta-bench-server HOST:PORT DATA_DIR');
  process.exit(2);
}
const server = await startMetaserver({ listen, dataDir, mds: [] });
console.log(`metaserver ready ${server.address}`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
