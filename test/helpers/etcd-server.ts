/**
 * A real single-member etcd (Debian's etcd-server) for tests, on free loopback
 * client and peer ports with a fresh data directory. Ready when GET /health on
 * the client URL says {"health":"true"}, i.e. the member has elected itself
 * and serves linearizable requests.
 *
 * Same life cycle as s3-server.ts: stop()/start() keep ports and data (an etcd
 * restart), kill() is a crash (SIGKILL), pause()/resume() freeze it, destroy()
 * is the final teardown that also removes the data directory.
 */
import fs from 'node:fs';
import { assert } from '../../src/common/assert.js';
import { freePort, LOOPBACK_HOST, waitForPortFree } from './ports.js';
import { isPortTaken, PORT_TAKEN_ATTEMPTS_MAX, startProcess, type ProcessHandle } from './process.js';
import { makeTempDir, type TempDir } from './tmp.js';

export interface EtcdOptions {
  /** The etcd binary (default: `etcd` from PATH). */
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface EtcdServer {
  /** [clientUrl], the form etcd3's `hosts` and our MDS config take. */
  readonly endpoints: string[];
  /** http://127.0.0.1:CLIENT_PORT */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly name: string;
  readonly dataDir: string;
  readonly isRunning: boolean;
  /** Graceful stop (SIGTERM, SIGKILL after a bound); ports and data kept for start(). */
  stop(): Promise<void>;
  /** Starts again on the same ports with the same data (the member recovers from its WAL). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL: a crash. Data kept for start(). */
  kill(): Promise<void>;
  /** SIGSTOP: etcd hangs until resume() (leases keep their TTL clock, clients time out). */
  pause(): void;
  resume(): void;
  /** Stops etcd and removes its data directory; idempotent. */
  destroy(): Promise<void>;
  outputTail(): string;
}

const READY_TIMEOUT_MS_DEFAULT = 20_000;
const PORT_RELEASE_TIMEOUT_MS = 5_000;
let clusterCounter = 0;

/** Our environment without ETCD_* variables: etcd treats them as flags and refuses duplicates. */
function etcdEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ETCD_')) env[key] = value;
  }
  // etcd 3.4 refuses to run on arm64 unless told to (amd64 needs nothing).
  if (process.arch === 'arm64') env.ETCD_UNSUPPORTED_ARCH = 'arm64';
  return env;
}

class EtcdServerImpl implements EtcdServer {
  private handle: ProcessHandle | null = null;
  private isDestroyed = false;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly dir: TempDir,
    private readonly options: EtcdOptions,
  ) {}

  get clientUrl(): string {
    return `http://${LOOPBACK_HOST}:${this.clientPort}`;
  }

  get peerUrl(): string {
    return `http://${LOOPBACK_HOST}:${this.peerPort}`;
  }

  get endpoints(): string[] {
    return [this.clientUrl];
  }

  get dataDir(): string {
    return this.dir.path;
  }

  get isRunning(): boolean {
    return this.handle !== null && this.handle.isRunning;
  }

  async start(): Promise<void> {
    assert(!this.isDestroyed, 'etcd start after destroy');
    if (this.isRunning) return;
    this.handle = await startProcess({
      name: 'etcd',
      command: this.options.binary ?? 'etcd',
      args: [
        '--name', this.name,
        '--data-dir', this.dataDir,
        '--listen-client-urls', this.clientUrl,
        '--advertise-client-urls', this.clientUrl,
        '--listen-peer-urls', this.peerUrl,
        '--initial-advertise-peer-urls', this.peerUrl,
        '--initial-cluster', `${this.name}=${this.peerUrl}`,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', this.name,
        // Loopback: short timers make the single member elect itself quickly.
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--logger', 'zap',
        '--log-outputs', 'stderr',
      ],
      env: etcdEnvironment(),
      ready: {
        kind: 'http',
        url: `${this.clientUrl}/health`,
        accept: (status, body) => status === 200 && /"health"\s*:\s*"true"/.test(body),
      },
      readyTimeoutMs: this.options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT,
    });
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    await handle.stop();
    await this.waitForPortsFree();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async kill(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    await handle.kill();
    await this.waitForPortsFree();
  }

  pause(): void {
    assert(this.isRunning, 'etcd pause needs a running server');
    this.handle!.pause();
  }

  resume(): void {
    if (this.handle !== null) this.handle.resume();
  }

  async destroy(): Promise<void> {
    if (this.isDestroyed) return;
    await this.stop();
    this.isDestroyed = true;
    await this.dir.remove();
  }

  outputTail(): string {
    return this.handle === null ? '' : this.handle.outputTail();
  }

  private async waitForPortsFree(): Promise<void> {
    await waitForPortFree(this.clientPort, PORT_RELEASE_TIMEOUT_MS);
    await waitForPortFree(this.peerPort, PORT_RELEASE_TIMEOUT_MS);
  }
}

/** Starts a one-member etcd on free 127.0.0.1 ports with a fresh data dir; throws if it cannot. */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  clusterCounter += 1;
  const name = `curvefs-test-${process.pid}-${clusterCounter}`;
  const dir = await makeTempDir('etcd');
  // Another process may bind our free ports before etcd does: then try new ports.
  for (let attempt = 1; ; attempt++) {
    const server = new EtcdServerImpl(name, await freePort(), await freePort(), dir, options);
    try {
      await server.start();
      return server;
    } catch (err) {
      if (attempt < PORT_TAKEN_ATTEMPTS_MAX && isPortTaken(err)) {
        // A half-started member may have written its WAL for the old peer URL.
        await fs.promises.rm(dir.path, { recursive: true, force: true });
        await fs.promises.mkdir(dir.path, { mode: 0o700 });
        continue;
      }
      await dir.remove().catch(() => undefined);
      throw err;
    }
  }
}
