/**
 * The partition state machine is pure (DESIGN §2): every replica must apply
 * the same entries to the same state, and the simulator replays it from a
 * seed. Its compiled modules may not read clocks or randomness, start
 * timers, or import I/O modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BANNED: readonly [RegExp, string][] = [
  [/\bDate\.now\s*\(/, 'Date.now'],
  [/\bnew Date\s*\(/, 'new Date'],
  [/\bMath\.random\s*\(/, 'Math.random'],
  [/\bperformance\.now\s*\(/, 'performance.now'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(/, 'timers'],
  [/from ['"]node:(fs|fs\/promises|net|http|http2|child_process|dgram|os|crypto)['"]/, 'I/O or entropy modules'],
  [/\bprocess\.(hrtime|env)\b/, 'process clock or environment'],
];

test('metaserver/partition reads no clock, no randomness, does no I/O', () => {
  const dir = fileURLToPath(new URL('../../metaserver/partition/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(files.length >= 10, `found the compiled partition modules in ${dir}`);
  for (const file of files) {
    const source = readFileSync(dir + file, 'utf8');
    for (const [pattern, what] of BANNED) assert.doesNotMatch(source, pattern, `${file} uses ${what}`);
  }
});
