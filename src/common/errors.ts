/**
 * Typed errors with stable codes. Callers branch on `code`, never on the
 * message. Expected file-system outcomes on hot paths are values (see
 * Result), not exceptions; these classes are for everything else.
 */
import { MetaStatusCode } from './meta-status.js';

export type ErrorCode =
  | 'CURVEFS_ERR_CONFIG'
  | 'CURVEFS_ERR_RPC'
  | 'CURVEFS_ERR_DEADLINE'
  | 'CURVEFS_ERR_CANCELLED'
  | 'CURVEFS_ERR_META'
  | 'CURVEFS_ERR_STORAGE'
  | 'CURVEFS_ERR_NOT_FOUND'
  | 'CURVEFS_ERR_INVALID'
  | 'CURVEFS_ERR_CORRUPT'
  | 'CURVEFS_ERR_NOT_LEADER'
  | 'CURVEFS_ERR_UNAVAILABLE'
  | 'CURVEFS_ERR_NOT_READY';

const brand = Symbol.for('curvefs.error');

export class CurveError extends Error {
  readonly [brand] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CurveError';
  }
  static is(e: unknown): e is CurveError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
  }
}

/** Bad configuration: names the offending key so the operator can fix it. */
export class ConfigError extends CurveError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('CURVEFS_ERR_CONFIG', `config ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** A metaserver/MDS reply whose status is not OK. */
export class MetaError extends CurveError {
  constructor(
    readonly status: MetaStatusCode,
    message?: string,
  ) {
    super('CURVEFS_ERR_META', message ?? `meta status ${MetaStatusCode[status] ?? status}`);
    this.name = 'MetaError';
  }
}

/** Object store failure (after retries). */
export class StorageError extends CurveError {
  constructor(message: string, options?: { cause?: unknown; readonly notFound?: boolean }) {
    super(options?.notFound ? 'CURVEFS_ERR_NOT_FOUND' : 'CURVEFS_ERR_STORAGE', message, options);
    this.name = 'StorageError';
  }
}

/** Persistent data failed validation (CRC, magic, length). */
export class CorruptionError extends CurveError {
  constructor(message: string) {
    super('CURVEFS_ERR_CORRUPT', message);
    this.name = 'CorruptionError';
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; errno: number };
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(errno: number): Result<T> => ({ ok: false, errno });
