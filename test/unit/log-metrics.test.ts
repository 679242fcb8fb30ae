import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { createLogger } from '../../src/common/log.js';
import { initProcessMetrics, registry, startMetricsServer } from '../../src/common/metrics.js';

test('the logger never writes secrets, at any depth', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger({ name: 'test', level: 'info', destination: sink });
  log.info({ fs: { storage: { s3: { secretKey: 'S3CRET-VALUE', accessKey: 'AKIA-VALUE', bucket: 'b1' } } } }, 'created');
  log.info({ secretAccessKey: 'S3CRET-VALUE', config: { 's3-secret-key': 'S3CRET-VALUE' } }, 'config');
  await new Promise((resolve) => setImmediate(resolve));
  const text = lines.join('');
  assert.ok(text.includes('b1'), 'non-secret fields are logged');
  assert.equal(text.includes('S3CRET-VALUE'), false, text);
  assert.equal(text.includes('AKIA-VALUE'), false, text);
});

test('/metrics serves the process registry over HTTP', async () => {
  initProcessMetrics('unit-test');
  const counter = new Counter({ name: 'curvefs_test_events_total', help: 'test events', registers: [registry] });
  counter.inc(3);
  const server = await startMetricsServer('127.0.0.1', 0);
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.match(body, /curvefs_test_events_total\{process="unit-test"\} 3/);
    assert.match(body, /curvefs_process_cpu_seconds_total/);
    const missing = await fetch(`http://127.0.0.1:${server.port}/nope`);
    assert.equal(missing.status, 404);
    await missing.text();
  } finally {
    await server.close();
  }
});
