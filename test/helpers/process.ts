/**
 * Child processes for tests: spawn a real part, keep the tail of its output,
 * wait (bounded) until it is ready, stop it (SIGTERM, then SIGKILL after a
 * bound), and never leave it behind.
 *
 * Never left behind, in three layers: every handle is stopped by its test
 * (`stop()` in `after`/`finally`); whatever is still alive when the test
 * process exits or is interrupted (SIGINT/SIGTERM/SIGHUP) gets SIGKILL from
 * our exit hook; and the child is started through `setpriv --pdeathsig KILL`
 * so the kernel kills it even if the test process itself dies by SIGKILL.
 *
 * A part that cannot start is a test failure, never a skip: startProcess()
 * throws PartStartError naming the part, the reason, and its output tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { assert } from '../../src/common/assert.js';
import { isPortOpen, LOOPBACK_HOST } from './ports.js';

export type ReadyProbe =
  /** A line of stdout or stderr matches. */
  | { readonly kind: 'line'; readonly pattern: RegExp }
  /** host:port accepts a TCP connection. */
  | { readonly kind: 'tcp'; readonly port: number; readonly host?: string }
  /** GET url answers and `accept(status, body)` holds (default: status 200). */
  | { readonly kind: 'http'; readonly url: string; readonly accept?: (status: number, body: string) => boolean };

export interface SpawnOptions {
  /** Short name for messages, e.g. 's3rver' or 'etcd'. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Full environment of the child (default: ours). */
  readonly env?: NodeJS.ProcessEnv;
  /** Probes that must all pass, in order, before startProcess() resolves. */
  readonly ready?: ReadyProbe | readonly ReadyProbe[];
  readonly readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs?: number;
  /** Bytes of stdout and of stderr kept for messages. */
  readonly outputTailBytes?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A part could not be started; the message carries its output tail. */
export class PartStartError extends Error {
  readonly code = 'CURVEFS_ERR_TEST_PART_START';
  constructor(
    readonly part: string,
    reason: string,
    readonly outputTail: string,
  ) {
    super(`${part} failed to start: ${reason}\n--- ${part} output tail ---\n${outputTail || '(no output)'}`);
    this.name = 'PartStartError';
  }
}

const READY_TIMEOUT_MS_DEFAULT = 15_000;
const STOP_TIMEOUT_MS_DEFAULT = 5_000;
const KILL_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_BYTES_DEFAULT = 64 * 1024;
const RECENT_LINES_MAX = 2_000;
const LINE_BYTES_MAX = 64 * 1024;
const POLL_INTERVAL_MS = 50;
const MESSAGE_TAIL_BYTES = 4 * 1024;
const CLOSE_AFTER_EXIT_MS = 250;

/** Keeps the last `capacityBytes` of a byte stream. */
export class OutputRing {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(readonly capacityBytes: number) {
    assert(Number.isInteger(capacityBytes) && capacityBytes > 0, 'OutputRing capacity');
  }
  push(chunk: Buffer): void {
    if (chunk.length >= this.capacityBytes) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.capacityBytes))];
      this.bytes = this.capacityBytes;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.capacityBytes) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.capacityBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
    }
    assert(this.bytes <= this.capacityBytes, 'OutputRing stays within capacity');
  }
  /** The last `maxBytes` (default: all kept) as text. */
  text(maxBytes = this.capacityBytes): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - maxBytes)).toString('utf8');
  }
}

// ---- exit hook: SIGKILL whatever is still running when the test process ends ----

const liveHandles = new Set<ProcessHandle>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Prepended: children die before other exit hooks remove their data directories.
  process.prependListener('exit', killAllLiveSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllLiveSync();
      // Keep the default meaning of the signal unless someone else handles it.
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAllLiveSync(): void {
  for (const handle of liveHandles) handle.killSync();
}

// setpriv (util-linux) sets PR_SET_PDEATHSIG and execs the command, keeping its pid.
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = fs.existsSync(SETPRIV);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running (or exited) child with captured output. */
export class ProcessHandle {
  readonly name: string;
  readonly pid: number;
  readonly commandLine: string;
  private readonly child: ChildProcess;
  private readonly stdout: OutputRing;
  private readonly stderr: OutputRing;
  private readonly recentLines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly exitListeners = new Set<(info: ExitInfo) => void>();
  private exit: ExitInfo | null = null;
  private isPausedBySignal = false;
  private readonly stopTimeoutMs: number;

  constructor(options: SpawnOptions) {
    assert(options.name.length > 0, 'process name');
    const tailBytes = options.outputTailBytes ?? OUTPUT_TAIL_BYTES_DEFAULT;
    this.name = options.name;
    this.stopTimeoutMs = options.stopTimeoutMs ?? STOP_TIMEOUT_MS_DEFAULT;
    this.stdout = new OutputRing(tailBytes);
    this.stderr = new OutputRing(tailBytes);
    this.commandLine = [options.command, ...options.args].join(' ');
    const [command, args] = hasSetpriv
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', options.command, ...options.args]]
      : [options.command, [...options.args]];
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawnError = (err: Error): void => this.onExit({ code: null, signal: null }, err);
    this.child.once('error', spawnError);
    // 'close' (stdio drained) gives messages the last words of a dying part; it is
    // bounded because a grandchild holding the pipes would delay it forever.
    this.child.once('exit', (code, signal) => {
      const fire = (): void => this.onExit({ code, signal });
      const timer = setTimeout(fire, CLOSE_AFTER_EXIT_MS);
      this.child.once('close', () => {
        clearTimeout(timer);
        fire();
      });
    });
    this.capture(this.child.stdout!, this.stdout, 'stdout');
    this.capture(this.child.stderr!, this.stderr, 'stderr');
    // pid is undefined only when spawn failed at once (ENOENT...); 'error' records that.
    this.pid = this.child.pid ?? -1;
    installExitHook();
    if (this.pid > 0) liveHandles.add(this);
  }

  private spawnFailure: Error | null = null;

  private onExit(info: ExitInfo, error?: Error): void {
    if (error) this.spawnFailure = error;
    if (this.exit !== null) return;
    this.exit = info;
    liveHandles.delete(this);
    for (const listener of [...this.exitListeners]) listener(info);
    this.exitListeners.clear();
  }

  private capture(stream: NodeJS.ReadableStream, ring: OutputRing, label: string): void {
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const echo = shouldEcho(this.name);
    stream.on('data', (chunk: Buffer) => {
      ring.push(chunk);
      partial += decoder.write(chunk);
      let newline = partial.indexOf('\n');
      while (newline >= 0) {
        this.onLine(partial.slice(0, newline), label, echo);
        partial = partial.slice(newline + 1);
        newline = partial.indexOf('\n');
      }
      // A part that never ends its line must not grow this buffer without bound.
      if (partial.length > LINE_BYTES_MAX) {
        this.onLine(partial, label, echo);
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial.length > 0) this.onLine(partial, label, echo);
      partial = '';
    });
  }

  private onLine(line: string, label: string, echo: boolean): void {
    if (echo) process.stderr.write(`[${this.name} ${label}] ${line}\n`);
    this.recentLines.push(line);
    if (this.recentLines.length > RECENT_LINES_MAX) this.recentLines.shift();
    for (const listener of [...this.lineListeners]) listener(line);
  }

  get isRunning(): boolean {
    return this.exit === null;
  }

  get exitInfo(): ExitInfo | null {
    return this.exit;
  }

  stdoutTail(maxBytes?: number): string {
    return this.stdout.text(maxBytes);
  }

  stderrTail(maxBytes?: number): string {
    return this.stderr.text(maxBytes);
  }

  /** stderr tail then stdout tail, for error messages. */
  outputTail(maxBytes = MESSAGE_TAIL_BYTES): string {
    const err = this.stderr.text(maxBytes).trimEnd();
    const out = this.stdout.text(maxBytes).trimEnd();
    return [err && `[stderr]\n${err}`, out && `[stdout]\n${out}`].filter(Boolean).join('\n');
  }

  private describeExit(): string {
    if (this.spawnFailure) return `could not spawn ${this.commandLine}: ${this.spawnFailure.message}`;
    const info = this.exit;
    assert(info !== null, 'describeExit after exit');
    return `exited early (code ${info.code}, signal ${info.signal}) running ${this.commandLine}`;
  }

  /** Resolves with the first line (already seen or future) matching pattern. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    assert(timeoutMs > 0, 'waitForLine timeout');
    const seen = this.recentLines.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        this.exitListeners.delete(onExit);
      };
      const onLine = (line: string): void => {
        if (!pattern.test(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = (): void => {
        cleanup();
        reject(new PartStartError(this.name, this.describeExit(), this.outputTail()));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new PartStartError(this.name, `no line matching ${pattern} within ${timeoutMs} ms`, this.outputTail()));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      if (this.exit !== null) onExit();
      else this.exitListeners.add(onExit);
    });
  }

  /** Waits until every probe passes, in order, within timeoutMs in total. */
  async waitForReady(probes: ReadyProbe | readonly ReadyProbe[], timeoutMs: number): Promise<void> {
    const list: readonly ReadyProbe[] = Array.isArray(probes) ? probes : [probes as ReadyProbe];
    const deadline = Date.now() + timeoutMs;
    for (const probe of list) {
      const remainingMs = Math.max(1, deadline - Date.now());
      if (probe.kind === 'line') {
        await this.waitForLine(probe.pattern, remainingMs);
      } else {
        await this.poll(probe, deadline);
      }
    }
  }

  private async poll(probe: Exclude<ReadyProbe, { kind: 'line' }>, deadline: number): Promise<void> {
    let lastFailure = '';
    for (;;) {
      if (this.exit !== null) throw new PartStartError(this.name, this.describeExit(), this.outputTail());
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        const what = probe.kind === 'tcp' ? `tcp ${probe.host ?? LOOPBACK_HOST}:${probe.port}` : `GET ${probe.url}`;
        throw new PartStartError(this.name, `${what} not ready in time (${lastFailure || 'no answer'})`, this.outputTail());
      }
      const attemptMs = Math.min(1_000, remainingMs);
      if (probe.kind === 'tcp') {
        if (await isPortOpen(probe.port, probe.host ?? LOOPBACK_HOST, attemptMs)) return;
        lastFailure = 'connection refused or timed out';
      } else {
        const answer = await httpGet(probe.url, attemptMs);
        const accept = probe.accept ?? ((status: number) => status === 200);
        if (answer.ok && accept(answer.status, answer.body)) return;
        lastFailure = answer.ok ? `status ${answer.status}: ${answer.body.slice(0, 200)}` : answer.error;
      }
      await delay(Math.min(POLL_INTERVAL_MS, Math.max(1, deadline - Date.now())));
    }
  }

  /** Resolves when the process has exited; throws after timeoutMs. */
  waitForExit(timeoutMs: number): Promise<ExitInfo> {
    if (this.exit !== null) return Promise.resolve(this.exit);
    return new Promise((resolve, reject) => {
      const onExit = (info: ExitInfo): void => {
        clearTimeout(timer);
        resolve(info);
      };
      const timer = setTimeout(() => {
        this.exitListeners.delete(onExit);
        reject(new Error(`${this.name} (pid ${this.pid}) did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
      this.exitListeners.add(onExit);
    });
  }

  /** Sends a signal if the process is still running. */
  signal(signal: NodeJS.Signals): void {
    if (this.exit !== null) return;
    try {
      this.child.kill(signal);
    } catch {
      // Exited between our check and the kill: the 'exit' event follows.
    }
  }

  /** SIGSTOP: the part stays alive but answers nothing (a hung server). */
  pause(): void {
    this.signal('SIGSTOP');
    this.isPausedBySignal = true;
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.signal('SIGCONT');
    this.isPausedBySignal = false;
  }

  /** SIGTERM, then SIGKILL if it has not exited after timeoutMs. Idempotent. */
  async stop(timeoutMs = this.stopTimeoutMs): Promise<ExitInfo> {
    if (this.exit !== null) return this.exit;
    this.signal('SIGTERM');
    // A stopped process keeps SIGTERM pending until it runs again.
    if (this.isPausedBySignal) this.resume();
    try {
      return await this.waitForExit(timeoutMs);
    } catch {
      return this.kill();
    }
  }

  /** SIGKILL and wait for the exit (a crash, or the end of stop()). */
  async kill(): Promise<ExitInfo> {
    if (this.exit !== null) return this.exit;
    this.signal('SIGKILL');
    return this.waitForExit(KILL_TIMEOUT_MS);
  }

  /** For the exit hook only: SIGKILL without waiting. */
  killSync(): void {
    if (this.exit === null && this.pid > 0) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

function shouldEcho(name: string): boolean {
  const setting = process.env.CURVEFS_TEST_ECHO;
  if (!setting) return false;
  return setting === '1' || setting.split(',').includes(name);
}

type HttpAnswer = { ok: true; status: number; body: string } | { ok: false; error: string };

/** One bounded GET; never throws. */
export function httpGet(url: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const request = http.get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        if (bytes < 64 * 1024) chunks.push(chunk);
        bytes += chunk.length;
      });
      response.on('end', () =>
        settle({ ok: true, status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', (err) => settle({ ok: false, error: err.message }));
    });
    request.on('error', (err) => settle({ ok: false, error: err.message }));
    const timer = setTimeout(() => {
      request.destroy();
      settle({ ok: false, error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
}

/** How many fresh ports a helper tries when another process took the one it picked. */
export const PORT_TAKEN_ATTEMPTS_MAX = 3;

/** True when a part failed to start because its port was in use (taken between pick and bind). */
export function isPortTaken(err: unknown): boolean {
  return err instanceof PartStartError && /EADDRINUSE|address already in use/i.test(err.outputTail);
}

/** Spawns without waiting for readiness. */
export function spawnProcess(options: SpawnOptions): ProcessHandle {
  return new ProcessHandle(options);
}

/**
 * Spawns and waits until the ready probes pass. On any failure the child is
 * killed and PartStartError (with the output tail) is thrown.
 */
export async function startProcess(options: SpawnOptions): Promise<ProcessHandle> {
  const handle = new ProcessHandle(options);
  if (options.ready === undefined) return handle;
  try {
    await handle.waitForReady(options.ready, options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT);
  } catch (err) {
    await handle.kill().catch(() => undefined);
    if (err instanceof PartStartError) throw err;
    throw new PartStartError(options.name, (err as Error).message, handle.outputTail());
  }
  return handle;
}
