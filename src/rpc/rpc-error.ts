/**
 * The error an RPC throws once retries are exhausted or the failure is not
 * retryable. Its `code` is what src/common/errno.ts maps to errno:
 * CURVEFS_ERR_DEADLINE → ETIMEDOUT, CURVEFS_ERR_CANCELLED → EINTR,
 * CURVEFS_ERR_INVALID → EINVAL, CURVEFS_ERR_UNAVAILABLE / CURVEFS_ERR_RPC → EIO.
 * (A reply status that stayed REDIRECTED/OVERLOAD is thrown as MetaError.)
 */
import { status as Status } from '@grpc/grpc-js';
import { CurveError, type ErrorCode } from '../common/errors.js';

export class RpcError extends CurveError {
  constructor(
    code: ErrorCode,
    message: string,
    /** The gRPC status of the last attempt, when there was one. */
    readonly grpcCode: Status | undefined,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'RpcError';
  }
}

export function errorCodeForGrpcStatus(code: Status): ErrorCode {
  switch (code) {
    case Status.DEADLINE_EXCEEDED:
      return 'CURVEFS_ERR_DEADLINE';
    case Status.CANCELLED:
      return 'CURVEFS_ERR_CANCELLED';
    case Status.UNAVAILABLE:
      return 'CURVEFS_ERR_UNAVAILABLE';
    case Status.INVALID_ARGUMENT:
      return 'CURVEFS_ERR_INVALID';
    default:
      return 'CURVEFS_ERR_RPC';
  }
}

/** A grpc-js ServiceError (or anything with a numeric code) seen by a client callback. */
export interface GrpcFailure {
  readonly code: Status;
  readonly details: string;
}

export function isGrpcFailure(error: unknown): error is GrpcFailure {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number';
}
