/**
 * src/layout (chunk/block math and read resolution, shared by the client and
 * the compactor) and the read-ahead policy must stay pure (DESIGN §2): no
 * clock, no timers, no randomness, no I/O, no asynchrony.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), process.cwd()];
  for (const root of candidates) if (existsSync(join(root, 'src', 'layout', 'read-resolution.ts'))) return root;
  throw new Error(`cannot find src/layout from ${candidates.join(', ')}`);
}
const root = findRoot();

const BANNED: Array<[RegExp, string]> = [
  [/\bDate\.now\b|\bnew Date\(/, 'wall clock'],
  [/\bperformance\.now\b/, 'clock'],
  [/\bMath\.random\b/, 'unseeded randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timers'],
  [/\bprocess\./, 'process access'],
  [/from ['"]node:/, 'node built-in import'],
  [/\bawait\b|\basync\b/, 'asynchrony'],
];

function checkPure(file: string, allowedImport: (spec: string) => boolean): void {
  const code = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .join('\n');
  for (const [re, what] of BANNED) assert.ok(!re.test(code), `${file} uses ${what} (${re})`);
  for (const m of code.matchAll(/from '([^']+)'/g)) assert.ok(allowedImport(m[1]!), `${file} imports ${m[1]}`);
}

test('src/layout and the read-ahead policy are pure', () => {
  const layoutDir = join(root, 'src', 'layout');
  const files = readdirSync(layoutDir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5);
  for (const f of files) checkPure(join(layoutDir, f), (s) => s.startsWith('./') || s.startsWith('../common/'));
  checkPure(join(root, 'client', 'data', 'read-ahead-policy.ts'), (s) => s.startsWith('../../src/common/'));
});
