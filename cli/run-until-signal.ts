/**
 * Keeps a started process running until SIGINT or SIGTERM, then stops it
 * (bounded in time) and exits. A second signal exits at once.
 */
import type { Logger } from '../src/common/log.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export const STOP_TIMEOUT_MS = 15_000;

/**
 * Also stops when standard input reaches its end and `stopOnStdinEof` is
 * set: a supervisor (`curvefs local up`) holds the other end of the pipe,
 * so its children stop even when it is killed with SIGKILL.
 */
export function runUntilSignal(name: string, log: Logger, parts: readonly Stoppable[], stopOnStdinEof = false): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, `${name}: second signal, exiting now`);
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, `${name}: stopping`);
      const timer = setTimeout(() => {
        log.error(`${name}: stop took longer than ${STOP_TIMEOUT_MS} ms, exiting`);
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      timer.unref();
      (async () => {
        // Stop in reverse start order: what was started last depends on what came first.
        for (const part of [...parts].reverse()) {
          try {
            await part.stop();
          } catch (error) {
            log.error({ err: error }, `${name}: error while stopping`);
          }
        }
        clearTimeout(timer);
        resolve();
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (stopOnStdinEof) {
      process.stdin.on('end', () => onSignal('SIGTERM'));
      process.stdin.resume();
    }
  });
}

export function splitHostPort(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(':');
  return { host: address.slice(0, index).replace(/^\[|\]$/g, ''), port: Number(address.slice(index + 1)) };
}
