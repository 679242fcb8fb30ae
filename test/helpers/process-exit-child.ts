/**
 * Fixture for helpers-process.test: starts a long `sleep` through
 * process.ts, prints its pid, then ends this process the way argv[2] says
 * (exit | throw | sigterm | sigkill). The test checks the sleep is gone:
 * the exit hook covers exit/throw/sigterm, setpriv's parent-death signal
 * covers sigkill.
 */
import { startProcess } from './process.js';

const mode = process.argv[2];
const sleeper = await startProcess({
  name: 'sleeper',
  command: 'bash',
  args: ['-c', 'echo ready; exec sleep 60'],
  ready: { kind: 'line', pattern: /^ready$/ },
  readyTimeoutMs: 5_000,
});
process.stdout.write(`sleeper ${sleeper.pid}\n`);
// Keep the event loop busy like a test would, so ending is our choice.
setInterval(() => undefined, 1_000);
setTimeout(() => {
  switch (mode) {
    case 'exit':
      process.exit(0);
      break;
    case 'throw':
      throw new Error('fixture: uncaught on purpose');
    case 'sigterm':
      process.kill(process.pid, 'SIGTERM');
      break;
    case 'sigkill':
      process.kill(process.pid, 'SIGKILL');
      break;
    default:
      process.stderr.write(`unknown mode ${mode}\n`);
      process.exit(2);
  }
}, 50);
