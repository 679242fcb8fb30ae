/**
 * The MDS's decision modules stay pure (DESIGN §2): placement, scheduling
 * and fs validation take a snapshot and return a decision, with no clock,
 * timer, randomness, I/O or async, so their tests replay exactly.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PURE = ['mds/placement/placement.ts', 'mds/placement/scheduler.ts', 'mds/fs/fs-validate.ts'];

function findRoot(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), process.cwd()];
  for (const root of candidates) if (existsSync(join(root, PURE[0]!))) return root;
  throw new Error(`cannot find ${PURE[0]} from ${candidates.join(', ')}`);
}

const BANNED: Array<[RegExp, string]> = [
  [/\bDate\.now\b|\bnew Date\(/, 'wall clock'],
  [/\bperformance\.now\b/, 'clock'],
  [/\bMath\.random\b/, 'unseeded randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timers'],
  [/\bprocess\./, 'process access'],
  [/from ['"]node:/, 'node built-in import'],
  [/\bawait\b|\basync\b/, 'asynchrony'],
];

test('mds placement, scheduler and validation are pure', () => {
  const root = findRoot();
  for (const file of PURE) {
    const code = readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
      .join('\n');
    for (const [re, what] of BANNED) assert.ok(!re.test(code), `${file} uses ${what} (${re})`);
    for (const m of code.matchAll(/from '([^']+)'/g)) {
      const spec = m[1]!;
      const allowed = spec.startsWith('./') || spec.startsWith('../../src/common/') || spec === '../../src/proto/types-common.js';
      assert.ok(allowed, `${file} imports ${spec}: only its neighbours, src/common and proto types`);
    }
  }
});
