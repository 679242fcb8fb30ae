import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// dist/test/unit → repo root
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'curvefs.js');

function curvefs(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const cleanEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CURVEFS_')) cleanEnv[k] = v;
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { ...cleanEnv, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

test('--help lists every subcommand', () => {
  const { code, out } = curvefs(['--help']);
  assert.equal(code, 0);
  for (const name of ['local', 'mds', 'metaserver', 'fs', 'mount', 'umount', 'status', 'info', 'fsck']) {
    assert.match(out, new RegExp(`^\\s+${name}\\b`, 'm'), `missing ${name}`);
  }
});

test('every subcommand has --help', () => {
  const commands = [
    ['local', 'up'],
    ['mds'],
    ['metaserver'],
    ['fs', 'create'],
    ['fs', 'list'],
    ['fs', 'info'],
    ['fs', 'delete'],
    ['mount'],
    ['umount'],
    ['status'],
    ['info'],
    ['fsck'],
  ];
  for (const command of commands) {
    const { code, out } = curvefs([...command, '--help']);
    assert.equal(code, 0, command.join(' '));
    assert.match(out, /^Usage: curvefs /m, command.join(' '));
  }
});

test('a bad setting stops the command with the key named', () => {
  const bad = curvefs(['metaserver', '--mds', '127.0.0.1:1', '--listen', 'nonsense']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /config listen:/);
  const unknownEnv = curvefs(['metaserver', '--mds', '127.0.0.1:1'], { CURVEFS_LISTN: 'x' });
  assert.notEqual(unknownEnv.code, 0);
  assert.match(unknownEnv.err, /CURVEFS_LISTN: unknown environment variable/);
  const missing = curvefs(['metaserver']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /config mds: is required/);
});

test('local up takes the mount cache settings and refuses --writeback without --cache-dir before starting anything', () => {
  const help = curvefs(['local', 'up', '--help']);
  for (const flag of ['--cache-dir', '--cache-size', '--writeback', '--buffer-size', '--attr-timeout', '--entry-timeout']) {
    assert.match(help.out, new RegExp(`${flag}\\b`), `local up --help lists ${flag}`);
  }
  for (const command of [['local', 'up', '--mount', '/nonexistent/curvefs-cli-test'], ['mount', 'fs1', '/nonexistent/curvefs-cli-test', '--mds', '127.0.0.1:1']]) {
    const bad = curvefs([...command, '--writeback']);
    assert.notEqual(bad.code, 0, command.join(' '));
    assert.match(bad.err, /config writeback: needs --cache-dir/, command.join(' '));
  }
});

test('an unknown subcommand fails', () => {
  const { code, err } = curvefs(['frobnicate']);
  assert.notEqual(code, 0);
  assert.match(err, /unknown command/);
});
