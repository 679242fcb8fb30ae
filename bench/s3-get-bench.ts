/**
 * Where a cold sequential read's client CPU goes: whole-block GETs (4 MiB)
 * against s3rver on loopback, 8 in flight, received into pooled blocks, by
 * two transports signed alike (S3SignedHttp.sign, the store's own signer):
 *
 * - store: S3ObjectStore.get, i.e. node's http client. Every socket read
 *   is a fresh 64 KiB ArrayBuffer that the body handler copies into the
 *   block: 16,384 of them per GiB, and V8 answers that external memory
 *   with a mark-compact every few tens of MiB (GC was most of the mount's
 *   CPU in a cold `dd` of a 1 GiB file).
 * - socket: the same GET written on a keep-alive net.Socket whose `onread`
 *   hands the kernel the block itself: the body is received in place, with
 *   no per-read buffer, no copy and no garbage.
 *
 * The socket transport here is a measuring device, not a client: HTTP/1.1
 * with Content-Length bodies only, no timeouts, retries or TLS. It shows
 * what moving the store's GET off node's http client would save.
 *   node dist/bench/s3-get-bench.js [--quick]
 * Prints one line per transport: MiB/s, client CPU seconds per GiB, and the
 * number of mark-compact GCs per GiB, then `s3-get: store <MiB/s> socket <MiB/s>`.
 */
import net from 'node:net';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { assert } from '../src/common/assert.js';
import { S3ObjectStore } from '../src/object/s3-object-store.js';
import { S3SignedHttp } from '../src/object/s3-signed-http.js';
import { BlockPool } from '../client/data/block-pool.js';
import { startS3Server, type S3Server } from '../test/helpers/s3-server.js';

const quick = process.argv.includes('--quick');
const BLOCK = 4 << 20;
const OBJECTS = quick ? 64 : 256;
const IN_FLIGHT = 8;
const ROUNDS = quick ? 2 : 3;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEAD_BYTES_MAX = 16 << 10;

type Get = (key: string, alloc: (n: number) => Buffer) => Promise<Buffer>;

interface Pending {
  readonly alloc: (n: number) => Buffer;
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
  headBytes: number;
  body: Buffer | null;
  at: number;
}

/** One keep-alive connection, one GET at a time, body read straight into its block. */
class SocketGetter {
  private readonly head = Buffer.allocUnsafe(HEAD_BYTES_MAX);
  private readonly socket: net.Socket;
  private pending: Pending | null = null;

  constructor(
    host: string,
    port: number,
    private readonly signer: S3SignedHttp,
  ) {
    this.socket = net.connect({
      host,
      port,
      onread: { buffer: () => this.nextTarget(), callback: (n: number) => this.onRead(n) },
    });
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Where the kernel writes the next bytes: the reply head, then the body's block. */
  private nextTarget(): Uint8Array {
    const p = this.pending;
    if (p === null) return this.head;
    if (p.body === null) return this.head.subarray(p.headBytes);
    return p.body.subarray(p.at);
  }

  private onRead(n: number): boolean {
    const p = this.pending;
    if (p === null) return true;
    if (p.body !== null) {
      p.at += n;
      if (p.at === p.body.length) this.finish();
      return true;
    }
    p.headBytes += n;
    const end = this.head.subarray(0, p.headBytes).indexOf('\r\n\r\n');
    if (end < 0) {
      if (p.headBytes === HEAD_BYTES_MAX) this.fail(new Error('reply head too long'));
      return true;
    }
    const text = this.head.toString('latin1', 0, end);
    const status = Number(text.slice(9, 12));
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
    if (status !== 200 || !Number.isSafeInteger(length)) {
      this.fail(new Error(`GET: HTTP ${status}`));
      return true;
    }
    p.body = p.alloc(length);
    // Body bytes that arrived with the head.
    p.at = this.head.copy(p.body, 0, end + 4, p.headBytes);
    if (p.at === length) this.finish();
    return true;
  }

  private finish(): void {
    const p = this.pending!;
    this.pending = null;
    p.resolve(p.body!);
  }

  private fail(error: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(error);
  }

  async get(key: string, alloc: (n: number) => Buffer): Promise<Buffer> {
    assert(this.pending === null, 'one GET at a time per connection');
    const signed = await this.signer.sign('GET', key, { 'x-amz-content-sha256': EMPTY_SHA256 });
    let request = `GET ${signed.path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(signed.headers)) request += `${name}: ${String(value)}\r\n`;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending = { alloc, resolve, reject, headBytes: 0, body: null, at: 0 };
      this.socket.write(`${request}\r\n`, 'latin1');
    });
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }
}

async function round(name: string, gets: Get[], keys: string[], expected: Buffer): Promise<{ mibps: number; cpuPerGiB: number; mcPerGiB: number }> {
  const pool = new BlockPool(BLOCK, IN_FLIGHT * 2);
  let markCompacts = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) markCompacts++;
  });
  gc.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    gets.map(async (get) => {
      while (next < keys.length) {
        const i = next++;
        const block = await get(keys[i]!, (n) => pool.alloc(n));
        // Spot-check the bytes (a few words), then give the block back.
        assert(block.length === BLOCK && block.readUInt32LE(0) === expected.readUInt32LE(0) && block.readUInt32LE(BLOCK - 4) === expected.readUInt32LE(BLOCK - 4), `${name}: bytes of ${keys[i]}`);
        pool.release(block);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc.disconnect();
  const gib = (keys.length * BLOCK) / (1 << 30);
  return { mibps: (keys.length * BLOCK) / (1 << 20) / seconds, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / gib, mcPerGiB: markCompacts / gib };
}

async function main(): Promise<void> {
  const s3: S3Server = await startS3Server();
  const options = { endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const store = new S3ObjectStore({ ...options, maxSockets: IN_FLIGHT * 2 });
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const signer = new S3SignedHttp({ ...options, forcePathStyle: true, agents });
  const sockets = Array.from({ length: IN_FLIGHT }, () => new SocketGetter(s3.host, s3.port, signer));
  try {
    const data = Buffer.allocUnsafe(BLOCK);
    for (let i = 0; i < BLOCK; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const keys = Array.from({ length: OBJECTS }, (_, i) => `bench/${i}`);
    for (let i = 0; i < keys.length; i += IN_FLIGHT) await Promise.all(keys.slice(i, i + IN_FLIGHT).map((k) => store.put(k, data)));
    const transports: Array<[string, Get[]]> = [
      ['store', Array.from({ length: IN_FLIGHT }, () => (key: string, alloc: (n: number) => Buffer) => store.get(key, undefined, alloc))],
      ['socket', sockets.map((s) => (key: string, alloc: (n: number) => Buffer) => s.get(key, alloc))],
    ];
    const best = new Map<string, number>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, gets] of transports) {
        const m = await round(name, gets, keys, data);
        best.set(name, Math.max(best.get(name) ?? 0, m.mibps));
        console.log(`${name.padEnd(6)} ${m.mibps.toFixed(0).padStart(5)} MiB/s  client cpu ${m.cpuPerGiB.toFixed(2)} s/GiB  mark-compacts ${m.mcPerGiB.toFixed(0)}/GiB`);
      }
    }
    console.log(`s3-get: store ${best.get('store')!.toFixed(0)} socket ${best.get('socket')!.toFixed(0)} (MiB/s, best of ${ROUNDS}, ${OBJECTS} x 4 MiB, ${IN_FLIGHT} in flight)`);
  } finally {
    for (const s of sockets) s.close();
    agents.http.destroy();
    agents.https.destroy();
    await store.close();
    await s3.destroy();
  }
}

await main();
