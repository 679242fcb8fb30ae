/**
 * Batch counters (chunk ids, TSO): several holders — an old and a new leader —
 * reserving from one store never hand out the same value, whatever the
 * interleaving and however often they forget their batch (failover).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BatchCounter } from '../../mds/core/batch-counter.js';
import { LocalFileStore } from '../../mds/store/local-file-store.js';
import { withTempDir } from '../helpers/tmp.js';

test('ids start at 1, batches continue, a reset skips the rest of a batch', async () => {
  await withTempDir(async (dir) => {
    const store = await LocalFileStore.open(dir);
    const counter = new BatchCounter(store, 'counter/x', 10);
    assert.equal(await counter.take(1), 1);
    assert.equal(await counter.take(5), 2);
    assert.equal((await store.get('counter/x'))!.value, '11');
    // A request larger than what is left continues the batch without a gap.
    assert.equal(await counter.take(20), 7);
    assert.equal(await counter.take(1), 27);
    counter.reset();
    const stored = Number((await store.get('counter/x'))!.value);
    assert.equal(await counter.take(1), stored);
    await store.close();
  }, 'mds-counter');
});

test('property: interleaved holders with resets never repeat a value', async () => {
  await withTempDir(async (dir) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ holder: fc.nat(2), count: fc.integer({ min: 1, max: 30 }), reset: fc.boolean() }), { maxLength: 40 }),
        async (steps) => {
          const store = await LocalFileStore.open(`${dir}/${run++}`);
          const holders = [0, 1, 2].map(() => new BatchCounter(store, 'counter/chunk', 16));
          const seen = new Set<number>();
          // Concurrent takes, as requests arrive at old and new leaders at once.
          const starts = await Promise.all(
            steps.map(async (step) => {
              if (step.reset) holders[step.holder]!.reset();
              return { start: await holders[step.holder]!.take(step.count), count: step.count };
            }),
          );
          for (const { start, count } of starts) {
            for (let id = start; id < start + count; id++) {
              assert.ok(!seen.has(id), `id ${id} handed out twice`);
              seen.add(id);
            }
          }
          await store.close();
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  }, 'mds-counter');
});
