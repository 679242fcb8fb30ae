/**
 * The small helpers under the part helpers: free ports, temp dirs, the mount
 * table parser, and child processes (ready probes, loud start failures with
 * the output tail, SIGTERM→SIGKILL stop, and no child left behind however the
 * test process ends).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  freePorts,
  isPortFree,
  isPortTaken,
  makeTempDir,
  OutputRing,
  parseMountInfo,
  PartStartError,
  spawnProcess,
  startProcess,
  waitForPortFree,
  withTempDir,
} from '../helpers/index.js';

const EXIT_CHILD = fileURLToPath(new URL('../helpers/process-exit-child.js', import.meta.url));

function listen(server: net.Server | http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function close(server: net.Server | http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Alive and not a zombie (a zombie nobody reaped is dead for our purposes). */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return !isAlive(pid);
}

test('ports: distinct, free, never handed out twice; isPortFree sees a listener', async () => {
  const ports = await freePorts(8);
  assert.equal(new Set(ports).size, 8);
  const more = await freePort();
  assert.ok(!ports.includes(more));
  for (const port of ports) assert.equal(await isPortFree(port), true);

  const server = net.createServer();
  await listen(server, more);
  assert.equal(await isPortFree(more), false);
  await assert.rejects(waitForPortFree(more, 200), /still in use/);
  await close(server);
  await waitForPortFree(more, 2_000);
});

test('tmp: fresh dirs under os.tmpdir(), removed by remove() and by withTempDir even on throw', async () => {
  const dir = await makeTempDir('unit');
  assert.ok(dir.path.startsWith(fs.realpathSync(os.tmpdir()) + path.sep));
  assert.deepEqual(await fs.promises.readdir(dir.path), []);
  await fs.promises.writeFile(path.join(dir.path, 'f'), 'x');
  await dir.remove();
  await dir.remove();
  assert.equal(fs.existsSync(dir.path), false);

  let inner = '';
  await assert.rejects(
    withTempDir(async (p) => {
      inner = p;
      await fs.promises.mkdir(path.join(p, 'a', 'b'), { recursive: true });
      throw new Error('body failed');
    }),
    /body failed/,
  );
  assert.equal(fs.existsSync(inner), false);
});

test('mounts: mountinfo parser unescapes paths and reads device numbers', () => {
  const text =
    '36 35 98:0 / / rw,noatime master:1 - ext4 /dev/root rw\n' +
    '52 36 0:45 / /tmp/with\\040space rw,nosuid - fuse curvefs-test-hello rw,user_id=0\n';
  const entries = parseMountInfo(text);
  assert.equal(entries.length, 2);
  assert.deepEqual(entries[1], { mountPoint: '/tmp/with space', fsType: 'fuse', source: 'curvefs-test-hello', major: 0, minor: 45 });
});

test('process: OutputRing keeps only the last bytes', () => {
  const ring = new OutputRing(8);
  ring.push(Buffer.from('abcdef'));
  ring.push(Buffer.from('ghij'));
  assert.equal(ring.text(), 'cdefghij');
  ring.push(Buffer.from('0123456789'));
  assert.equal(ring.text(), '23456789');
  assert.equal(ring.text(3), '789');
});

test('process: line, tcp and http ready probes; output tails', async (t) => {
  const lines = await startProcess({
    name: 'liner',
    command: 'bash',
    args: ['-c', 'echo to-stderr >&2; echo "server up"; exec sleep 30'],
    ready: { kind: 'line', pattern: /^server up$/ },
    readyTimeoutMs: 5_000,
  });
  t.after(() => lines.kill());
  assert.match(lines.stdoutTail(), /server up/);
  // stdout and stderr are separate pipes: the stderr line may land after the ready line.
  await lines.waitForLine(/^to-stderr$/, 5_000);
  assert.match(lines.stderrTail(), /to-stderr/);
  assert.equal((await lines.stop()).signal, 'SIGTERM');

  const port = await freePort();
  const script = `require('http').createServer((q, s) => s.end(q.url === '/health' ? 'ok' : 'no')).listen(${port}, '127.0.0.1')`;
  const web = await startProcess({
    name: 'web',
    command: process.execPath,
    args: ['-e', script],
    ready: [{ kind: 'tcp', port }, { kind: 'http', url: `http://127.0.0.1:${port}/health`, accept: (s, b) => s === 200 && b === 'ok' }],
    readyTimeoutMs: 5_000,
  });
  t.after(() => web.kill());
  assert.equal(web.isRunning, true);
  await web.stop();
  assert.equal(await isPortFree(port), true);
});

test('process: a part that cannot start throws PartStartError with its stderr tail, never hangs', async () => {
  const started = Date.now();
  await assert.rejects(
    startProcess({
      name: 'doomed',
      command: 'bash',
      args: ['-c', 'echo "fatal: bad config key foo" >&2; exit 3'],
      ready: { kind: 'line', pattern: /never/ },
      readyTimeoutMs: 10_000,
    }),
    (err: unknown) => {
      assert.ok(err instanceof PartStartError);
      assert.equal(err.code, 'CURVEFS_ERR_TEST_PART_START');
      assert.match(err.message, /doomed failed to start: exited early \(code 3/);
      assert.match(err.message, /fatal: bad config key foo/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5_000, 'an early exit fails at once, not at the timeout');

  const port = await freePort();
  await assert.rejects(
    startProcess({ name: 'silent', command: 'sleep', args: ['30'], ready: { kind: 'tcp', port }, readyTimeoutMs: 300 }),
    /silent failed to start: tcp 127\.0\.0\.1:\d+ not ready in time/,
  );
  await assert.rejects(
    startProcess({ name: 'missing', command: '/nonexistent/binary', args: [], ready: { kind: 'line', pattern: /^never$/ } }),
    /missing failed to start/,
  );
});

test('process: stop() escalates to SIGKILL when SIGTERM is ignored; pause() needs resume', async (t) => {
  const stubborn = await startProcess({
    name: 'stubborn',
    command: 'bash',
    args: ['-c', "trap '' TERM; echo ready; while true; do sleep 0.05; done"],
    ready: { kind: 'line', pattern: /^ready$/ },
    stopTimeoutMs: 300,
  });
  t.after(() => stubborn.kill());
  const started = Date.now();
  const exit = await stubborn.stop();
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(Date.now() - started >= 250);

  const frozen = await startProcess({ name: 'frozen', command: 'bash', args: ['-c', 'echo ready; exec sleep 30'], ready: { kind: 'line', pattern: /^ready$/ } });
  t.after(() => frozen.kill());
  frozen.pause();
  assert.equal((await frozen.stop()).signal, 'SIGTERM', 'stop() of a paused process resumes it so SIGTERM lands');
});

for (const mode of ['exit', 'throw', 'sigterm', 'sigkill'] as const) {
  test(`process: no child left behind when the test process ends by ${mode}`, async (t) => {
    const fixture = spawnProcess({ name: `exit-child-${mode}`, command: process.execPath, args: [EXIT_CHILD, mode] });
    t.after(() => fixture.kill());
    const line = await fixture.waitForLine(/^sleeper \d+$/, 10_000);
    const sleeperPid = Number(line.split(' ')[1]);
    assert.ok(sleeperPid > 0);
    await fixture.waitForExit(10_000);
    assert.equal(await waitDead(sleeperPid, 3_000), true, `sleeper ${sleeperPid} survived ${mode}`);
  });
}

test('process: a port taken between pick and bind is recognised (helpers then pick a new one)', async () => {
  const port = await freePort();
  const thief = net.createServer();
  await listen(thief, port);
  try {
    const script = `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`;
    const failure = await startProcess({
      name: 'late-binder',
      command: process.execPath,
      args: ['-e', script],
      ready: { kind: 'line', pattern: /^up$/ },
      readyTimeoutMs: 5_000,
    }).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof PartStartError, 'the part could not bind');
    assert.equal(isPortTaken(failure), true);
    assert.equal(isPortTaken(new Error('EADDRINUSE')), false, 'only a part start failure counts');
  } finally {
    await close(thief);
  }
});
