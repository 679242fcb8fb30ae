/**
 * A metaserver with its data services as its own process, for the kill
 * tests: `node compaction-server-child.js HOST:PORT DATA_DIR MDS GRACE_MS
 * INTERVAL_MS BYTES_PER_SECOND`. The data services learn storage and open
 * files from MDS (GetFsDataInfo). Prints "metaserver ready" once it serves;
 * SIGTERM stops it cleanly, SIGKILL is the crash under test.
 */
import { startMetaserver } from '../../metaserver/index.js';
import { MdsFsDataSource } from '../../metaserver/deletion/fs-data.js';

const [listen, dataDir, mds, graceMs, intervalMs, bytesPerSecond] = process.argv.slice(2);
if (listen === undefined || dataDir === undefined || mds === undefined || bytesPerSecond === undefined) {
  console.error('usage: compaction-server-child HOST:PORT DATA_DIR MDS GRACE_MS INTERVAL_MS BYTES_PER_SECOND');
  process.exit(2);
}
const server = await startMetaserver({
  listen,
  dataDir,
  mds: [],
  tickMs: 50,
  dataServices: {
    source: new MdsFsDataSource([mds]),
    graceMs: Number(graceMs),
    intervalMs: Number(intervalMs),
    compaction: { bytesPerSecond: Number(bytesPerSecond), concurrency: 1 },
    deletion: { unlinkGraceMs: Number(graceMs), concurrency: 1 },
  },
});
console.log(`metaserver ready ${server.address}`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
