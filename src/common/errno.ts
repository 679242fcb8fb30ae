/**
 * The one place where errno is decided. Every layer hands its failures here;
 * the FUSE adapter only converts the number to what fuse-native wants
 * (a negative errno).
 *
 * - metaStatusToErrno: metaserver/MDS reply status → errno
 * - grpcStatusToErrno: transport failures that exhausted retries → errno
 * - toErrno(unknown): anything thrown → errno (unknown → EIO, logged by caller)
 */
import { constants } from 'node:os';
import { status as Status } from '@grpc/grpc-js';
import { CurveError, MetaError } from './errors.js';
import { MetaStatusCode } from './meta-status.js';

export const Errno = constants.errno;

const META_TO_ERRNO: Record<MetaStatusCode, number> = {
  [MetaStatusCode.OK]: 0,
  [MetaStatusCode.UNKNOWN_ERROR]: Errno.EIO,
  [MetaStatusCode.PARAM_ERROR]: Errno.EINVAL,
  [MetaStatusCode.NOT_FOUND]: Errno.ENOENT,
  [MetaStatusCode.EXIST]: Errno.EEXIST,
  [MetaStatusCode.NOT_EMPTY]: Errno.ENOTEMPTY,
  [MetaStatusCode.NOT_DIR]: Errno.ENOTDIR,
  [MetaStatusCode.IS_DIR]: Errno.EISDIR,
  [MetaStatusCode.NAME_TOO_LONG]: Errno.ENAMETOOLONG,
  // Redirects and overload are retried by the RPC layer; reaching errno means retries ran out.
  [MetaStatusCode.REDIRECTED]: Errno.EAGAIN,
  [MetaStatusCode.OVERLOAD]: Errno.EAGAIN,
  [MetaStatusCode.PARTITION_NOT_FOUND]: Errno.EIO,
  [MetaStatusCode.PARTITION_ALLOC_ID_FAIL]: Errno.ENOSPC,
  [MetaStatusCode.COPYSET_NOT_FOUND]: Errno.EIO,
  [MetaStatusCode.TX_CONFLICT]: Errno.EAGAIN,
  [MetaStatusCode.TX_LOCKED]: Errno.EAGAIN,
  [MetaStatusCode.VERSION_MISMATCH]: Errno.EAGAIN,
  [MetaStatusCode.PERMISSION_DENIED]: Errno.EACCES,
  [MetaStatusCode.NOT_SUPPORTED]: Errno.ENOTSUP,
  [MetaStatusCode.NO_SPACE]: Errno.ENOSPC,
  [MetaStatusCode.STORAGE_ERROR]: Errno.EIO,
  [MetaStatusCode.FS_NOT_FOUND]: Errno.ENOENT,
  [MetaStatusCode.FS_EXIST]: Errno.EEXIST,
  [MetaStatusCode.FS_BUSY]: Errno.EBUSY,
  [MetaStatusCode.NOT_LEADER]: Errno.EAGAIN,
  [MetaStatusCode.TIMEOUT]: Errno.ETIMEDOUT,
  [MetaStatusCode.INVALID_ARGUMENT]: Errno.EINVAL,
  [MetaStatusCode.NO_DATA]: Errno.ENODATA,
  [MetaStatusCode.RANGE_ERROR]: Errno.ERANGE,
  [MetaStatusCode.UNAVAILABLE]: Errno.EIO,
};

export function metaStatusToErrno(status: MetaStatusCode): number {
  const errno = META_TO_ERRNO[status];
  return errno === undefined ? Errno.EIO : errno;
}

export function grpcStatusToErrno(code: Status): number {
  switch (code) {
    case Status.OK:
      return 0;
    case Status.CANCELLED:
      return Errno.EINTR;
    case Status.DEADLINE_EXCEEDED:
      return Errno.ETIMEDOUT;
    case Status.NOT_FOUND:
      return Errno.ENOENT;
    case Status.ALREADY_EXISTS:
      return Errno.EEXIST;
    case Status.PERMISSION_DENIED:
    case Status.UNAUTHENTICATED:
      return Errno.EACCES;
    case Status.RESOURCE_EXHAUSTED:
      return Errno.EDQUOT;
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
      return Errno.EINVAL;
    case Status.UNIMPLEMENTED:
      return Errno.ENOSYS;
    case Status.UNAVAILABLE:
    case Status.ABORTED:
    case Status.FAILED_PRECONDITION:
    case Status.INTERNAL:
    case Status.DATA_LOSS:
    case Status.UNKNOWN:
    default:
      return Errno.EIO;
  }
}

/** Any thrown value → errno. Unknown failures are EIO; the caller logs them with their stack. */
export function toErrno(error: unknown): number {
  if (error instanceof MetaError) return metaStatusToErrno(error.status);
  if (CurveError.is(error)) {
    switch (error.code) {
      case 'CURVEFS_ERR_DEADLINE':
        return Errno.ETIMEDOUT;
      case 'CURVEFS_ERR_CANCELLED':
        return Errno.EINTR;
      case 'CURVEFS_ERR_NOT_FOUND':
        return Errno.ENOENT;
      case 'CURVEFS_ERR_INVALID':
        return Errno.EINVAL;
      default:
        return Errno.EIO;
    }
  }
  if (typeof error === 'object' && error !== null) {
    const e = error as { name?: unknown; code?: unknown; errno?: unknown };
    if (e.name === 'AbortError') return Errno.EINTR;
    if (e.name === 'TimeoutError') return Errno.ETIMEDOUT;
    // grpc-js ServiceError: numeric `code` that is a gRPC status.
    if (typeof e.code === 'number' && 'metadata' in (error as object)) return grpcStatusToErrno(e.code as Status);
    // Node system errors: string code naming an errno ('ENOENT').
    if (typeof e.code === 'string' && e.code in Errno) return Errno[e.code as keyof typeof Errno];
  }
  return Errno.EIO;
}
