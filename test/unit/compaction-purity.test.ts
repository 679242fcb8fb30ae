/**
 * The compaction plan (which bytes go where, which objects a list
 * references) is pure like src/layout (DESIGN §2): no clock, no timers, no
 * randomness, no I/O, no asynchrony; it imports only src/layout and
 * src/common.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), process.cwd()];
const root = candidates.find((r) => existsSync(join(r, 'metaserver', 'compaction', 'compaction-plan.ts')));

const BANNED: Array<[RegExp, string]> = [
  [/\bDate\.now\b|\bnew Date\(/, 'wall clock'],
  [/\bperformance\.now\b/, 'clock'],
  [/\bMath\.random\b/, 'unseeded randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timers'],
  [/\bprocess\./, 'process access'],
  [/from ['"]node:/, 'node built-in import'],
  [/\bawait\b|\basync\b/, 'asynchrony'],
];

test('metaserver/compaction/compaction-plan.ts is pure', () => {
  assert.ok(root !== undefined, 'source tree found');
  const file = join(root, 'metaserver', 'compaction', 'compaction-plan.ts');
  const code = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .join('\n');
  for (const [re, what] of BANNED) assert.ok(!re.test(code), `uses ${what} (${re})`);
  for (const m of code.matchAll(/from '([^']+)'/g)) {
    assert.ok(m[1]!.startsWith('../../src/layout/') || m[1]!.startsWith('../../src/common/'), `imports ${m[1]}`);
  }
});
