/**
 * ObjectStore on S3 (or any S3-compatible server) through @aws-sdk/client-s3.
 * One client per store: keep-alive sockets from a bounded pool, a timeout on
 * every attempt, and our own retry loop (exponential backoff with jitter on
 * 5xx, throttling and network errors, bounded in attempts and in total time)
 * so that callers see one StorageError once retrying is pointless.
 * Credentials go to the SDK only; `description` and errors never hold them.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { webcrypto } from 'node:crypto';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { BuildMiddleware } from '@smithy/types';
import { assert } from '../common/assert.js';
import { StorageError } from '../common/errors.js';
import { SystemRandom, type Random } from '../common/random.js';
import { LIST_LIMIT_MAX, type BodyAllocator, type ByteRange, type ListPage, type ObjectInfo, type ObjectStore } from './object-store.js';
import { backoffDelayMs, classifyS3Failure } from './retry-policy.js';

export interface S3ObjectStoreOptions {
  /** e.g. http://127.0.0.1:4568; omit for AWS. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Path-style URLs (bucket in the path): needed by most non-AWS servers. */
  readonly forcePathStyle?: boolean;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Socket pool bound per store (keep-alive). */
  readonly maxSockets?: number;
  readonly connectTimeoutMs?: number;
  /** Time limit of one attempt. */
  readonly requestTimeoutMs?: number;
  readonly maxAttempts?: number;
  /** Total time spent retrying one operation before it fails. */
  readonly retryDeadlineMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly random?: Random;
}

const DELETE_BATCH_MAX = 1000;

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryDeadlineMs: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly random: Random;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(options: S3ObjectStoreOptions) {
    assert(options.bucket.length > 0, 'bucket is required');
    const maxSockets = options.maxSockets ?? 64;
    assert(maxSockets > 0, 'maxSockets must be positive');
    this.bucket = options.bucket;
    this.description = `s3:${options.endpoint ?? 'aws'}/${options.bucket}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryDeadlineMs = options.retryDeadlineMs ?? 60_000;
    this.backoff = { baseMs: options.backoffBaseMs ?? 50, maxMs: options.backoffMaxMs ?? 2_000 };
    this.random = options.random ?? new SystemRandom();
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
    };
    this.client = new S3Client({
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Retries are ours (one policy, one deadline); the SDK makes one attempt.
      maxAttempts: 1,
      // Checksums only where S3 demands them: blocks are immutable and small,
      // and a CRC over every byte costs more than the loopback transfer.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent: this.agents.http,
        httpsAgent: this.agents.https,
        connectionTimeout: options.connectTimeoutMs ?? 5_000,
        requestTimeout: this.requestTimeoutMs,
      }),
    });
  }

  /** Runs one S3 call with retries; `what` names the operation and key for errors. */
  private async withRetry<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(AbortSignal.timeout(this.requestTimeoutMs));
      } catch (error) {
        const kind = classifyS3Failure(error);
        if (kind === 'not-found') throw new StorageError(`${what}: not found`, { notFound: true });
        const elapsedMs = performance.now() - started;
        const delayMs = backoffDelayMs(attempt, this.backoff, this.random);
        const giveUp = kind === 'fatal' || attempt + 1 >= this.maxAttempts || elapsedMs + delayMs >= this.retryDeadlineMs;
        if (giveUp) {
          const name = (error as { name?: string }).name ?? 'Error';
          throw new StorageError(`${what}: ${name}: ${(error as Error).message} (after ${attempt + 1} attempts)`, {
            cause: error,
          });
        }
        await sleep(delayMs);
      }
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const payloadSha256 = await sha256Hex(data);
    await this.withRetry(`put ${key}`, (abortSignal) => {
      const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length });
      command.middlewareStack.add(withPayloadHash(payloadSha256), { step: 'build', name: 'curvefsPayloadSha256' });
      return this.client.send(command, { abortSignal });
    });
  }

  async get(key: string, range?: ByteRange, alloc?: BodyAllocator): Promise<Buffer> {
    if (range !== undefined && range.length === 0) {
      await this.head(key);
      return Buffer.alloc(0);
    }
    const header = range === undefined ? undefined : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    try {
      return await this.withRetry(`get ${key}`, async (abortSignal) => {
        const reply = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(header ? { Range: header } : {}) }),
          { abortSignal },
        );
        assert(reply.Body !== undefined, 'GetObject reply without a body');
        const bytes = await collectBody(reply.Body, reply.ContentLength, range === undefined ? alloc : undefined);
        if (range === undefined || bytes.length <= range.length) return bytes;
        // Some servers (s3rver for 'bytes=0-0') answer a range with more than
        // was asked; cut the answer to the range using where it starts.
        const start = Number(/^bytes (\d+)-/.exec(reply.ContentRange ?? '')?.[1] ?? 0);
        assert(start <= range.offset, 'range reply starts after the requested offset');
        return bytes.subarray(range.offset - start, range.offset - start + range.length);
      });
    } catch (error) {
      // A range starting at or past the end: S3 answers 416 InvalidRange.
      const cause = (error as { cause?: { $metadata?: { httpStatusCode?: number } } }).cause;
      if (range !== undefined && cause?.$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const reply = await this.withRetry(`head ${key}`, (abortSignal) =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
    );
    return { key, sizeBytes: reply.ContentLength ?? 0 };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.withRetry(`delete ${key}`, (abortSignal) =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
      );
    } catch (error) {
      if (!(error instanceof StorageError && error.code === 'CURVEFS_ERR_NOT_FOUND')) throw error;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH_MAX) {
      const batch = keys.slice(i, i + DELETE_BATCH_MAX);
      const reply = await this.withRetry(`delete ${batch.length} objects`, (abortSignal) =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal },
        ),
      );
      const failed = (reply.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new StorageError(`delete ${failed.length} objects failed, first ${failed[0]!.Key}: ${failed[0]!.Code}`);
      }
    }
  }

  async list(prefix: string, cursor?: string | null, limit = LIST_LIMIT_MAX): Promise<ListPage> {
    assert(limit > 0 && limit <= LIST_LIMIT_MAX, 'list limit out of range');
    const reply = await this.withRetry(`list ${prefix}`, (abortSignal) =>
      // ListObjects (v1) with a Marker: the cursor is the last key seen, the
      // same contract as the local backend. (s3rver fails v2 with MaxKeys.)
      this.client.send(
        new ListObjectsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: limit,
          ...(cursor ? { Marker: cursor } : {}),
        }),
        { abortSignal },
      ),
    );
    const objects = (reply.Contents ?? []).map((o) => ({ key: o.Key ?? '', sizeBytes: o.Size ?? 0 }));
    const last = objects.at(-1);
    return { objects, cursor: reply.IsTruncated && last !== undefined ? last.key : null };
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/**
 * SigV4 signs the SHA-256 of a PUT's body. The SDK hashes it synchronously
 * on the event loop (about 1.5 ms per MiB, the largest CPU cost of a
 * sequential write after the copies); WebCrypto's digest runs on the libuv
 * thread pool instead, so the loop keeps serving FUSE requests meanwhile.
 * The payload stays signed: the server still checks the body against it.
 */
async function sha256Hex(data: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}

/** A build-step middleware handing the signer the body's hash (it uses a present x-amz-content-sha256 as is). */
function withPayloadHash<I extends object, O extends object>(hex: string): BuildMiddleware<I, O> {
  return (next) => (args) => {
    const request = args.request as { headers?: Record<string, string> } | undefined;
    assert(request?.headers !== undefined, 'an HTTP request reaches the build step');
    request.headers['x-amz-content-sha256'] = hex;
    return next(args);
  };
}

/**
 * A GET's body as one buffer. With the Node HTTP handler the body is a
 * Readable and the server says its length up front: its chunks are copied
 * straight into one buffer of that size (from `alloc`: the caller's pool, or
 * a new unpooled one; the SDK's
 * transformToByteArray collects them, then allocates a zero-filled array and
 * copies them again). Anything else, or a length that does not match the
 * bytes that came, goes through the SDK's collector.
 */
async function collectBody(
  body: { transformToByteArray(): Promise<Uint8Array> },
  contentLength: number | undefined,
  alloc: BodyAllocator = Buffer.allocUnsafeSlow,
): Promise<Buffer> {
  if (!(body instanceof Readable) || contentLength === undefined || !Number.isSafeInteger(contentLength) || contentLength < 0) {
    const raw = await body.transformToByteArray();
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  }
  const out = alloc(contentLength);
  assert(out.length === contentLength, 'a body buffer of the length asked for');
  let at = 0;
  await new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      if (at + chunk.length > contentLength) {
        body.destroy(new Error(`GetObject body longer than its Content-Length ${contentLength}`));
        return;
      }
      chunk.copy(out, at);
      at += chunk.length;
    });
    body.once('end', resolve);
    body.once('error', reject);
    body.once('close', () => reject(new Error('GetObject body closed before its end')));
  });
  if (at !== contentLength) throw new Error(`GetObject body has ${at} bytes, its Content-Length says ${contentLength}`);
  return out;
}
