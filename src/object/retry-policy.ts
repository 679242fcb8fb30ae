/**
 * Which object-store failures are worth retrying, and how long to wait.
 * Pure: jitter comes from an injected Random.
 */
import type { Random } from '../common/random.js';

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^attempt)]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: Random): number {
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random.next() * cap);
}

const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

export type FailureKind = 'not-found' | 'retryable' | 'fatal';

/** Classifies an error thrown by the AWS SDK (or the socket under it). */
export function classifyS3Failure(error: unknown): FailureKind {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) return 'not-found';
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return 'retryable';
  if (e.name !== undefined && THROTTLING_NAMES.has(e.name)) return 'retryable';
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'retryable';
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return 'retryable';
  // No HTTP status at all: the request never got a reply (socket-level failure).
  if (status === undefined) return 'retryable';
  return 'fatal';
}
