/**
 * ObjectStore on S3 (or any S3-compatible server). The data path (GET, PUT,
 * HEAD of one object) goes through S3SignedHttp (SigV4-signed requests on
 * node's HTTP agent: s3-signed-http.ts says why); listing and deletes through
 * @aws-sdk/client-s3. One socket pool per store for both: keep-alive sockets from a bounded pool, a timeout on
 * every attempt, and our own retry loop (exponential backoff with jitter on
 * 5xx, throttling and network errors, bounded in attempts and in total time)
 * so that callers see one StorageError once retrying is pointless.
 * Credentials go to the SDK only; `description` and errors never hold them.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash, webcrypto } from 'node:crypto';
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { assert } from '../common/assert.js';
import { StorageError } from '../common/errors.js';
import { SystemRandom, type Random } from '../common/random.js';
import { LIST_LIMIT_MAX, type BodyAllocator, type ByteRange, type ListPage, type ObjectInfo, type ObjectStore } from './object-store.js';
import { backoffDelayMs, classifyS3Failure } from './retry-policy.js';
import { S3SignedHttp } from './s3-signed-http.js';

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
/** Bodies up to this size are hashed on the event loop (tens of microseconds). */
const SYNC_HASH_BYTES_MAX = 64 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly http: S3SignedHttp;
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
    this.http = new S3SignedHttp({
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      region: options.region,
      bucket: options.bucket,
      forcePathStyle: options.forcePathStyle ?? true,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      agents: this.agents,
    });
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
    await this.withRetry(`put ${key}`, (abortSignal) => this.http.put(key, data, payloadSha256, abortSignal));
  }

  async get(key: string, range?: ByteRange, alloc?: BodyAllocator): Promise<Buffer> {
    if (range !== undefined && range.length === 0) {
      await this.head(key);
      return Buffer.alloc(0);
    }
    const header = range === undefined ? undefined : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    // A range reply may be longer than asked (below): only a whole object's body goes into the caller's buffer.
    const bodyAlloc = range === undefined && alloc !== undefined ? alloc : Buffer.allocUnsafeSlow;
    try {
      return await this.withRetry(`get ${key}`, async (abortSignal) => {
        const reply = await this.http.get(key, header, bodyAlloc, abortSignal);
        const bytes = reply.body;
        if (range === undefined || bytes.length <= range.length) return bytes;
        // Some servers (s3rver for 'bytes=0-0') answer a range with more than
        // was asked; cut the answer to the range using where it starts.
        const start = Number(/^bytes (\d+)-/.exec(reply.contentRange ?? '')?.[1] ?? 0);
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
    const sizeBytes = await this.withRetry(`head ${key}`, (abortSignal) => this.http.head(key, abortSignal));
    return { key, sizeBytes };
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
  // A small body hashes faster here than the trip to the thread pool and back.
  if (data.byteLength <= SYNC_HASH_BYTES_MAX) return createHash('sha256').update(data).digest('hex');
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}
