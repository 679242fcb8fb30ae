/**
 * A child-process MDS for HA tests (run from dist/):
 *   node mds-runner.js --listen HOST:PORT --data DIR --etcd URLS [--ttl SECONDS] [--prefix P]
 * Prints `MDS_READY <address>` once serving and stops gracefully on SIGTERM.
 * Metaservers are reached with the production GrpcMetaserverAdmin.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/common/log.js';
import { startMds } from '../../mds/index.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string' },
    data: { type: 'string' },
    etcd: { type: 'string' },
    ttl: { type: 'string' },
    prefix: { type: 'string' },
  },
});
if (values.listen === undefined || values.data === undefined) throw new Error('usage: --listen HOST:PORT --data DIR [--etcd URLS]');

const mds = await startMds({
  listen: values.listen,
  dataDir: values.data,
  etcdEndpoints: values.etcd ? values.etcd.split(',') : [],
  ...(values.prefix ? { etcdPrefix: values.prefix } : {}),
  ...(values.ttl ? { electionTtlSeconds: Number(values.ttl) } : {}),
  logger: createLogger({ name: 'mds', level: 'warn' }),
  backgroundTickMs: 300,
});
process.stdout.write(`MDS_READY ${mds.address}\n`);
process.once('SIGTERM', () => {
  void mds.stop().then(() => process.exit(0));
});
