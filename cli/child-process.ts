/**
 * A supervised child process of `curvefs local up`: output to a log file,
 * readiness by a line on stdout, restart with backoff if it dies while the
 * cluster runs (bounded restarts), and a stop that escalates SIGTERM →
 * SIGKILL after a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../src/common/log.js';

export interface ChildSpec {
  readonly name: string;
  readonly args: readonly string[];
  readonly logFile: string;
  /** A stdout line that says the child is serving. */
  readonly readyPattern: RegExp;
  readonly readyTimeoutMs: number;
}

export const STOP_GRACE_MS = 10_000;
const RESTARTS_MAX = 5;
const RESTART_BACKOFF_MS = 1_000;

export class SupervisedChild {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private isStopping = false;
  private restarts = 0;

  constructor(
    private readonly spec: ChildSpec,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.log ??= createWriteStream(this.spec.logFile, { flags: 'a' });
    // The child's stdin is a pipe it watches (--stop-on-stdin-eof): if this
    // process dies, even by SIGKILL, the pipe closes and the child stops.
    const child = spawn(process.execPath, [...this.spec.args, '--stop-on-stdin-eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr!.pipe(this.log, { end: false });
    let stdoutText = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.spec.name} did not become ready within ${this.spec.readyTimeoutMs} ms (log: ${this.spec.logFile})`));
      }, this.spec.readyTimeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => {
        this.log?.write(chunk);
        stdoutText += chunk.toString();
        if (this.spec.readyPattern.test(stdoutText)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited (${signal ?? `code ${code}`}) before it was ready; see ${this.spec.logFile}`));
      });
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.isStopping) return;
    this.logger.error({ child: this.spec.name, code, signal }, `${this.spec.name} died; see ${this.spec.logFile}`);
    if (this.restarts >= RESTARTS_MAX) {
      this.logger.error({ child: this.spec.name }, `${this.spec.name} restarted ${RESTARTS_MAX} times; giving up`);
      return;
    }
    this.restarts++;
    setTimeout(() => {
      if (this.isStopping) return;
      this.start().catch((error: unknown) => this.logger.error({ err: error }, `restarting ${this.spec.name} failed`));
    }, RESTART_BACKOFF_MS * this.restarts);
  }

  async stop(): Promise<void> {
    this.isStopping = true;
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) {
      this.log?.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.log?.end();
  }
}
