/**
 * Crash: a writer with a write-back disk cache is killed with SIGKILL after
 * fsyncs; a restart replays its journal, and everything it fsync'd is
 * readable and intact. Kills land at random moments (amid staging, uploads,
 * journal appends, commits) and, through CRASH_AT, exactly inside an upload,
 * inside a metadata commit, and halfway through a journal append.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { DataClient } from '../../client/data/data-client.js';
import { PersistentReferenceMetadata } from '../helpers/reference-chunk-info-store.js';
import { makeTempDir } from '../helpers/tmp.js';
import { CRASH_GEOMETRY, LOG_INODE, roundFile, roundSegment } from './data-crash-shared.js';

const CHILD = fileURLToPath(new URL('./data-crash-child.js', import.meta.url));

interface Acked {
  rounds: number;
  logLength: number;
}

/** Runs the child until it dies (self-kill) or until `killAfterAcks` acks, then SIGKILL. */
function runChild(args: string[], env: Record<string, string>, killAfterAcks: number, killDelayMs: number): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: Acked = { rounds: 0, logLength: 0 };
    let stderr = '';
    let buffered = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^acked (\d+) (\d+)$/.exec(line);
        if (m === null) continue;
        acked.rounds = Number(m[1]) + 1;
        acked.logLength = Number(m[2]);
        if (acked.rounds === killAfterAcks) setTimeout(() => child.kill('SIGKILL'), killDelayMs);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}/${signal}: ${stderr.slice(-2000)}`));
      else resolve(acked);
    });
  });
}

async function verifyAfterRestart(dir: string, seed: number, acked: Acked, checkLog: boolean): Promise<void> {
  const meta = PersistentReferenceMetadata.open(`${dir}/meta.json`);
  const client = await DataClient.start({
    fsId: 1,
    geometry: CRASH_GEOMETRY,
    store: new LocalObjectStore(`${dir}/store`),
    chunkInfos: meta,
    chunkIds: meta,
    diskCache: { dir: `${dir}/cache`, limitBytes: 64 << 20, writeBack: true },
  });
  try {
    // Replay is done before start() resolves: nothing is left staged.
    assert.equal(client.stagedBytes, 0, 'journal replayed completely');
    for (let k = 0; k < acked.rounds; k++) {
      const expected = roundFile(seed, k);
      assert.equal(meta.lengthOf(1000 + k), expected.length, `round ${k}: committed length`);
      const h = client.open(1000 + k, meta.lengthOf(1000 + k));
      const got = await h.read(0, expected.length + 10);
      assert.ok(got.equals(expected), `round ${k}: content`);
      await h.close();
    }
    // The round after the last ack may be partly there; reading it must work.
    const next = client.open(1000 + acked.rounds, meta.lengthOf(1000 + acked.rounds));
    await next.read(0, next.lengthBytes);
    await next.close();
    if (!checkLog) return;
    const logLength = acked.logLength;
    const log = client.open(LOG_INODE, meta.lengthOf(LOG_INODE));
    assert.ok(log.lengthBytes >= logLength, `log length ${log.lengthBytes} >= acked ${logLength}`);
    const logData = await log.read(0, logLength);
    let pos = 0;
    for (let k = 0; pos < logLength; k++) {
      const seg = roundSegment(seed, k);
      assert.ok(logData.subarray(pos, pos + seg.length).equals(seg), `log segment ${k}`);
      pos += seg.length;
    }
    await log.close();
  } finally {
    await client.close();
  }
}

const scenarios: Array<{ name: string; env: Record<string, string>; killAfterAcks: number; killDelayMs: number }> = [
  { name: 'SIGKILL at a random moment after fsyncs', env: {}, killAfterAcks: 3, killDelayMs: 7 },
  { name: 'SIGKILL right after an fsync', env: {}, killAfterAcks: 2, killDelayMs: 0 },
  { name: 'killed inside a background upload', env: { CRASH_AT: 'put', CRASH_AFTER: '9' }, killAfterAcks: 1000, killDelayMs: 0 },
  { name: 'killed inside a metadata commit', env: { CRASH_AT: 'commit', CRASH_AFTER: '3' }, killAfterAcks: 1000, killDelayMs: 0 },
  { name: 'killed halfway through a journal append', env: { CRASH_AT: 'journal', CRASH_AFTER: '7' }, killAfterAcks: 1000, killDelayMs: 0 },
];
for (const scenario of scenarios) {
  test(`write-back crash: ${scenario.name}; restart replays, fsync'd data intact`, async () => {
    const dir = await makeTempDir('datacrash');
    try {
      const seed = 5;
      const args = [`${dir.path}/store`, `${dir.path}/meta.json`, `${dir.path}/cache`, String(seed)];
      const first = await runChild(args, scenario.env, scenario.killAfterAcks, scenario.killDelayMs);
      await verifyAfterRestart(dir.path, seed, first, true);
      // Crash again on top of the recovered state: the rewrite of the same
      // files and a second replay must leave every acknowledged file intact.
      const second = await runChild(args, { CRASH_AT: 'put', CRASH_AFTER: '12' }, 1000, 0);
      await verifyAfterRestart(dir.path, seed, { rounds: Math.max(first.rounds, second.rounds), logLength: 0 }, false);
    } finally {
      await dir.remove();
    }
  });
}
