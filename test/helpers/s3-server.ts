/**
 * A real S3-compatible server (s3rver) for tests, in a child process on a free
 * loopback port, with a fresh data directory and a fresh bucket.
 *
 * A child process, not s3rver in the test process, so a test can take S3 away
 * and bring it back: stop()/start() keep the port and the data directory (the
 * objects survive, like a restarted S3 endpoint), kill() is a crash, and
 * pause()/resume() freeze it (SIGSTOP: connections open but nothing answers,
 * which is what a hung endpoint looks like to a client with deadlines).
 * destroy() is the final teardown.
 *
 * Clients: path-style addressing, SigV4, the fixed S3rver credentials, e.g.
 *   new S3Client({ ...s3.clientConfig() })
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { assert } from '../../src/common/assert.js';
import { freePort, LOOPBACK_HOST, waitForPortFree } from './ports.js';
import { isPortTaken, PORT_TAKEN_ATTEMPTS_MAX, startProcess, type ProcessHandle } from './process.js';
import { makeTempDir, type TempDir } from './tmp.js';

export interface S3ServerOptions {
  /** Bucket created at start (default: a fresh unique name). */
  readonly bucket?: string;
  readonly readyTimeoutMs?: number;
}

/** What `new S3Client(config)` from @aws-sdk/client-s3 needs to reach this server. */
export interface S3ClientConfigLike {
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: true;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface S3Server {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly accessKeyId: 'S3RVER';
  readonly secretAccessKey: 'S3RVER';
  readonly region: string;
  readonly dataDir: string;
  readonly isRunning: boolean;
  clientConfig(): S3ClientConfigLike;
  /** Graceful stop (SIGTERM, SIGKILL after a bound); port and data kept for start(). */
  stop(): Promise<void>;
  /** Starts again on the same port with the same data directory. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL: a crash. Data kept for start(). */
  kill(): Promise<void>;
  /** SIGSTOP: the server hangs until resume(). */
  pause(): void;
  resume(): void;
  /** Stops the server and removes its data directory; idempotent. */
  destroy(): Promise<void>;
  outputTail(): string;
}

export const S3RVER_ACCESS_KEY_ID = 'S3RVER';
export const S3RVER_SECRET_ACCESS_KEY = 'S3RVER';
export const S3_REGION = 'us-east-1';
const READY_TIMEOUT_MS_DEFAULT = 20_000;
const PORT_RELEASE_TIMEOUT_MS = 5_000;

let bucketCounter = 0;

/** S3 bucket naming rules, the subset s3rver enforces and more. */
export function isValidBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..');
}

function s3rverBin(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('s3rver'); // .../s3rver/lib/s3rver.js
  return path.join(path.dirname(main), '..', 'bin', 's3rver.js');
}

function freshBucketName(): string {
  bucketCounter += 1;
  return `curvefs-test-${process.pid}-${bucketCounter}`;
}

class S3ServerImpl implements S3Server {
  readonly host = LOOPBACK_HOST;
  readonly accessKeyId = S3RVER_ACCESS_KEY_ID;
  readonly secretAccessKey = S3RVER_SECRET_ACCESS_KEY;
  readonly region = S3_REGION;
  private handle: ProcessHandle | null = null;
  private isDestroyed = false;

  constructor(
    readonly port: number,
    readonly bucket: string,
    private readonly dir: TempDir,
    private readonly readyTimeoutMs: number,
  ) {}

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  get dataDir(): string {
    return this.dir.path;
  }

  get isRunning(): boolean {
    return this.handle !== null && this.handle.isRunning;
  }

  clientConfig(): S3ClientConfigLike {
    return {
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
    };
  }

  async start(): Promise<void> {
    assert(!this.isDestroyed, 's3rver start after destroy');
    if (this.isRunning) return;
    this.handle = await startProcess({
      name: 's3rver',
      command: process.execPath,
      args: [
        s3rverBin(),
        '--address', this.host,
        '--port', String(this.port),
        '--directory', this.dataDir,
        '--silent',
        // Creating an existing bucket again on restart only warns.
        '--configure-bucket', this.bucket,
      ],
      // The CLI prints this after listen() succeeded, even with --silent.
      ready: [{ kind: 'line', pattern: /S3rver listening on/ }, { kind: 'tcp', port: this.port, host: this.host }],
      readyTimeoutMs: this.readyTimeoutMs,
    });
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    await handle.stop();
    await waitForPortFree(this.port, PORT_RELEASE_TIMEOUT_MS, this.host);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async kill(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    await handle.kill();
    await waitForPortFree(this.port, PORT_RELEASE_TIMEOUT_MS, this.host);
  }

  pause(): void {
    assert(this.isRunning, 's3rver pause needs a running server');
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
}

/** Starts s3rver on a free 127.0.0.1 port with a fresh data dir and bucket; throws if it cannot. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const bucket = options.bucket ?? freshBucketName();
  assert(isValidBucketName(bucket), `invalid S3 bucket name: ${bucket}`);
  const dir = await makeTempDir('s3rver');
  // Another process may bind our free port before s3rver does: then try a new port.
  for (let attempt = 1; ; attempt++) {
    const server = new S3ServerImpl(await freePort(), bucket, dir, options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT);
    try {
      await server.start();
      return server;
    } catch (err) {
      if (attempt < PORT_TAKEN_ATTEMPTS_MAX && isPortTaken(err)) continue;
      await dir.remove().catch(() => undefined);
      throw err;
    }
  }
}
