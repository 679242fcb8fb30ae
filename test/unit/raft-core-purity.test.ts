/**
 * The Raft core must stay pure (DESIGN §2, STYLE §3): no clock, no timers,
 * no Math.random, no I/O, no imports from node: or from outside src/common
 * and src/raft/core. This is what lets the simulator replay any run.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The TypeScript sources: dist/test/unit -> repository root, else the working directory. */
function findCoreDir(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), process.cwd()];
  for (const root of candidates) {
    const dir = join(root, 'src', 'raft', 'core');
    if (existsSync(join(dir, 'raw-node.ts'))) return dir;
  }
  throw new Error(`cannot find src/raft/core/*.ts from ${candidates.join(', ')}`);
}
const coreDir = findCoreDir();

const BANNED: Array<[RegExp, string]> = [
  [/\bDate\.now\b|\bnew Date\(/, 'wall clock'],
  [/\bperformance\.now\b/, 'clock'],
  [/\bMath\.random\b/, 'unseeded randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timers'],
  [/\bprocess\./, 'process access'],
  [/\bBuffer\b/, 'Node Buffer'],
  [/from ['"]node:/, 'node built-in import'],
  [/\bawait\b|\basync\b/, 'asynchrony'],
];

test('src/raft/core uses no clock, timer, randomness, I/O or async', () => {
  const files = readdirSync(coreDir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 10, `expected the core sources in ${coreDir}`);
  for (const f of files) {
    const text = readFileSync(join(coreDir, f), 'utf8');
    const code = text
      .split('\n')
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
      .join('\n');
    for (const [re, what] of BANNED) assert.ok(!re.test(code), `${f} uses ${what} (${re})`);
    for (const m of code.matchAll(/from '([^']+)'/g)) {
      const spec = m[1]!;
      const allowed = spec.startsWith('./') || spec.startsWith('../../common/');
      assert.ok(allowed, `${f} imports ${spec}: the core may import only itself and src/common`);
    }
  }
});
