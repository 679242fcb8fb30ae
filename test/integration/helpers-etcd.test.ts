/**
 * The etcd helper: Debian's etcd on free loopback ports with a fresh data
 * dir, a real put/get with the etcd3 client, restart with data kept, a crash
 * (SIGKILL) and recovery, and teardown that frees the ports and the data dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import { isPortFree, startEtcd, PartStartError } from '../helpers/index.js';

test('etcd: real put/get with etcd3, stop frees the ports, destroy removes the data dir', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.destroy());
  assert.deepEqual(etcd.endpoints, [etcd.clientUrl]);
  assert.match(etcd.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(etcd.clientPort, etcd.peerPort);
  assert.ok(fs.existsSync(etcd.dataDir));

  const client = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2_000 });
  t.after(() => client.close());
  await client.put('/curvefs/test/key').value('value-1');
  assert.equal(await client.get('/curvefs/test/key').string(), 'value-1');
  client.close();

  await etcd.stop();
  assert.equal(etcd.isRunning, false);
  assert.equal(await isPortFree(etcd.clientPort), true, 'client port free after stop');
  assert.equal(await isPortFree(etcd.peerPort), true, 'peer port free after stop');

  await etcd.start();
  const again = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2_000 });
  t.after(() => again.close());
  assert.equal(await again.get('/curvefs/test/key').string(), 'value-1', 'data survives a restart');
  again.close();

  const dataDir = etcd.dataDir;
  await etcd.destroy();
  assert.equal(await isPortFree(etcd.clientPort), true, 'client port free after destroy');
  assert.equal(await isPortFree(etcd.peerPort), true, 'peer port free after destroy');
  assert.equal(fs.existsSync(dataDir), false, 'data dir removed');
});

test('etcd: kill() is a crash the member recovers from', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.destroy());
  const client = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2_000 });
  t.after(() => client.close());
  await client.put('crash-key').value('before-crash');
  client.close();

  await etcd.kill();
  assert.equal(etcd.isRunning, false);
  await etcd.start();
  const again = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2_000 });
  t.after(() => again.close());
  assert.equal(await again.get('crash-key').string(), 'before-crash');
  again.close();
});

test('etcd: a binary that cannot start fails loudly with its output', async () => {
  await assert.rejects(startEtcd({ binary: '/nonexistent/etcd', readyTimeoutMs: 5_000 }), (err: unknown) => {
    assert.ok(err instanceof PartStartError);
    assert.equal(err.part, 'etcd');
    assert.match(err.message, /etcd failed to start/);
    assert.match(err.message, /nonexistent/);
    return true;
  });
});
