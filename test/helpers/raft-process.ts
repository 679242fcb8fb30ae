/**
 * Parent side of raft-node-runner.ts: spawns a Raft node process, sends it
 * JSON-line requests with bounded waits, collects its events, and kills it
 * (SIGKILL for crash tests). Children are killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const RAFT_RUNNER = fileURLToPath(new URL('./raft-node-runner.js', import.meta.url));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface RaftProcessOptions {
  readonly id: string;
  readonly peers: readonly string[];
  readonly dir: string;
  readonly groups?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEntries?: number;
}

export type Reply = { id: number; ok: boolean; [k: string]: unknown };

export class RaftProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private readonly stderrTail: string[] = [];
  readonly events: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readyResolve!: () => void;
  readonly ready: Promise<void>;

  constructor(readonly options: RaftProcessOptions) {
    const args = [
      RAFT_RUNNER,
      '--id', options.id,
      '--peers', options.peers.join(','),
      '--dir', options.dir,
      '--groups', String(options.groups ?? 1),
      '--tick-ms', String(options.tickMs ?? 100),
      '--election-ticks', String(options.electionTicks ?? 10),
      '--snapshot-entries', String(options.snapshotEntries ?? 200_000),
    ];
    // RAFT_RUNNER_NODE_ARGS passes extra node flags (e.g. --cpu-prof) to the children.
    const nodeArgs = (process.env['RAFT_RUNNER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    this.child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    this.ready = new Promise((r) => (this.readyResolve = r));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        live.delete(this.child);
        for (const w of this.waiting.values()) w({ id: -1, ok: false, code: 'EXITED' });
        this.waiting.clear();
        resolve(code);
      });
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (typeof msg['event'] === 'string') {
        this.events.push(msg);
        if (msg['event'] === 'ready') this.readyResolve();
        return;
      }
      const w = this.waiting.get(msg['id'] as number);
      if (w !== undefined) {
        this.waiting.delete(msg['id'] as number);
        w(msg as Reply);
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 50) this.stderrTail.shift();
    });
  }

  get id(): string {
    return this.options.id;
  }

  stderr(): string {
    return this.stderrTail.join('\n');
  }

  /** Sends one request; resolves with the reply, or a timeout reply after `timeoutMs`. */
  request(body: Record<string, unknown>, timeoutMs = 10_000): Promise<Reply> {
    const id = this.nextId++;
    return new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ id, ok: false, code: 'TIMEOUT' });
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      if (this.child.stdin!.writable) this.child.stdin!.write(JSON.stringify({ ...body, id }) + '\n');
    });
  }

  async waitReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.id} not ready within ${timeoutMs} ms: ${this.stderr()}`)), timeoutMs);
    });
    try {
      await Promise.race([this.ready, timeout, this.exited.then((c) => Promise.reject(new Error(`${this.id} exited ${c}: ${this.stderr()}`)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  /** Graceful stop: closing stdin makes the runner close its host and exit. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
