/**
 * Runs one metaserver in this process for benchmarks and tests that need
 * separate processes: `node metaserver-child.js <listen> <dataDir>`.
 * Prints "ready <address>" once serving; stops on SIGTERM.
 */
import { startMetaserver } from '../metaserver/index.js';

const [listen, dataDir] = process.argv.slice(2);
if (listen === undefined || dataDir === undefined) throw new Error('usage: metaserver-child.js <listen> <dataDir>');
const server = await startMetaserver({ listen, dataDir, mds: [] });
process.stdout.write(`ready ${server.address}\n`);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
