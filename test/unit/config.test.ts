import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, envName, describeConfig, type ConfigSchema } from '../../src/common/config.js';
import { ConfigError } from '../../src/common/errors.js';
import { parseDurationMs, parseSize } from '../../src/common/units.js';

const schema = {
  listen: { type: 'address', description: 'listen', default: '127.0.0.1:6700' },
  'block-size': { type: 'size', description: 'block', default: '4MiB', min: 4096 },
  interval: { type: 'duration', description: 'interval', default: '5s' },
  writeback: { type: 'bool', description: 'wb', default: false },
  mds: { type: 'list', description: 'mds', required: true },
  workers: { type: 'int', description: 'workers', default: 4, min: 1, max: 64 },
  mode: { type: 'string', description: 'mode', default: 'a', choices: ['a', 'b'] },
  'secret-key': { type: 'string', description: 'secret', default: '', secret: true },
} as const satisfies ConfigSchema;

function withFile(name: string, text: string, body: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    body(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectConfigError(fn: () => unknown, key: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.key, key);
    assert.match(error.message, new RegExp(key.replace(/[-]/g, '\\-')));
    return true;
  });
}

test('defaults apply and types are parsed', () => {
  const config = loadConfig(schema, { env: {}, flags: { mds: 'a:1,b:2' } });
  assert.equal(config.listen, '127.0.0.1:6700');
  assert.equal(config['block-size'], 4 * 1024 * 1024);
  assert.equal(config.interval, 5000);
  assert.equal(config.writeback, false);
  assert.deepEqual(config.mds, ['a:1', 'b:2']);
  assert.equal(config.workers, 4);
});

test('flags override environment, which overrides the file', () => {
  withFile('c.conf', 'workers = 8\nmode = b # comment\nmds = f:1\n', (file) => {
    const fromFile = loadConfig(schema, { env: {}, file });
    assert.equal(fromFile.workers, 8);
    assert.equal(fromFile.mode, 'b');
    const fromEnv = loadConfig(schema, { env: { [envName('workers')]: '16' }, file });
    assert.equal(fromEnv.workers, 16);
    const fromFlags = loadConfig(schema, { env: { [envName('workers')]: '16' }, file, flags: { workers: '32' } });
    assert.equal(fromFlags.workers, 32);
  });
});

test('camelCase flags from commander map to kebab-case keys', () => {
  const config = loadConfig(schema, { env: {}, flags: { blockSize: '64KiB', mds: 'x:1' } });
  assert.equal(config['block-size'], 65536);
});

test('JSON config files are read and unknown keys rejected', () => {
  withFile('c.json', JSON.stringify({ workers: 2, mds: ['a:1'] }), (file) => {
    const config = loadConfig(schema, { env: {}, file });
    assert.equal(config.workers, 2);
    assert.deepEqual(config.mds, ['a:1']);
  });
  withFile('c.json', JSON.stringify({ wrokers: 2 }), (file) => {
    expectConfigError(() => loadConfig(schema, { env: {}, file, flags: { mds: 'a:1' } }), 'wrokers');
  });
  withFile('c.json', '{ not json', (file) => {
    expectConfigError(() => loadConfig(schema, { env: {}, file, flags: { mds: 'a:1' } }), 'config');
  });
});

test('malformed values stop with the key named', () => {
  const base = { env: {}, flags: { mds: 'a:1' } };
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, listen: 'nohost' } }), 'listen');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, listen: 'h:99999' } }), 'listen');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, blockSize: '4 parsecs' } }), 'block-size');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, blockSize: '1KiB' } }), 'block-size');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, interval: 'soon' } }), 'interval');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, writeback: 'maybe' } }), 'writeback');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, workers: '1.5' } }), 'workers');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, workers: '0' } }), 'workers');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, workers: '65' } }), 'workers');
  expectConfigError(() => loadConfig(schema, { ...base, flags: { ...base.flags, mode: 'c' } }), 'mode');
  expectConfigError(() => loadConfig(schema, { env: {}, flags: {} }), 'mds');
  expectConfigError(() => loadConfig(schema, { env: { [envName('workers')]: 'many' }, flags: { mds: 'a:1' } }), 'workers');
});

test('unknown CURVEFS_* variables are rejected unless another process knows them', () => {
  expectConfigError(() => loadConfig(schema, { env: { CURVEFS_WROKERS: '1' }, flags: { mds: 'a:1' } }), 'CURVEFS_WROKERS');
  const config = loadConfig(schema, {
    env: { CURVEFS_CACHE_DIR: '/x', PATH: '/bin' },
    flags: { mds: 'a:1' },
    otherKnownKeys: ['cache-dir'],
  });
  assert.equal(config.workers, 4);
});

test('a missing config file is a clear error', () => {
  expectConfigError(() => loadConfig(schema, { env: {}, file: '/nonexistent/curvefs.conf', flags: { mds: 'a:1' } }), 'config');
});

test('secrets are masked when the config is described, and never echoed in errors', () => {
  const config = loadConfig(schema, { env: {}, flags: { mds: 'a:1', secretKey: 'supersecretvalue123' } });
  const described = describeConfig(schema, config);
  assert.equal(JSON.stringify(described).includes('supersecretvalue123'), false);
  const secretInt = { s: { type: 'int', description: 's', default: 1, secret: true } } as const satisfies ConfigSchema;
  assert.throws(
    () => loadConfig(secretInt, { env: {}, flags: { s: 'hunter2' } }),
    (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
  );
});

test('sizes and durations parse in every documented form', () => {
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('4M'), 4 * 1024 ** 2);
  assert.equal(parseSize('1g'), 1024 ** 3);
  assert.throws(() => parseSize('-1'));
  assert.throws(() => parseSize('1.5'));
  assert.equal(parseDurationMs('100ms'), 100);
  assert.equal(parseDurationMs('5s'), 5000);
  assert.equal(parseDurationMs('2m'), 120_000);
  assert.equal(parseDurationMs('250'), 250);
  assert.throws(() => parseDurationMs('5 days'));
});
