import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { Errno, grpcStatusToErrno, metaStatusToErrno, toErrno } from '../../src/common/errno.js';
import { CurveError, MetaError, StorageError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { RedirectError, RpcError } from '../../src/rpc/index.js';

/** The expected errno of every status, written out so a change to the mapping is a visible decision. */
const EXPECTED: Record<keyof typeof MetaStatusCode, number> = {
  OK: 0,
  UNKNOWN_ERROR: Errno.EIO,
  PARAM_ERROR: Errno.EINVAL,
  NOT_FOUND: Errno.ENOENT,
  EXIST: Errno.EEXIST,
  NOT_EMPTY: Errno.ENOTEMPTY,
  NOT_DIR: Errno.ENOTDIR,
  IS_DIR: Errno.EISDIR,
  NAME_TOO_LONG: Errno.ENAMETOOLONG,
  REDIRECTED: Errno.EAGAIN,
  OVERLOAD: Errno.EAGAIN,
  PARTITION_NOT_FOUND: Errno.EIO,
  PARTITION_ALLOC_ID_FAIL: Errno.ENOSPC,
  COPYSET_NOT_FOUND: Errno.EIO,
  TX_CONFLICT: Errno.EAGAIN,
  TX_LOCKED: Errno.EAGAIN,
  VERSION_MISMATCH: Errno.EAGAIN,
  PERMISSION_DENIED: Errno.EACCES,
  NOT_SUPPORTED: Errno.ENOTSUP,
  NO_SPACE: Errno.ENOSPC,
  STORAGE_ERROR: Errno.EIO,
  FS_NOT_FOUND: Errno.ENOENT,
  FS_EXIST: Errno.EEXIST,
  FS_BUSY: Errno.EBUSY,
  NOT_LEADER: Errno.EAGAIN,
  TIMEOUT: Errno.ETIMEDOUT,
  INVALID_ARGUMENT: Errno.EINVAL,
  NO_DATA: Errno.ENODATA,
  RANGE_ERROR: Errno.ERANGE,
  UNAVAILABLE: Errno.EIO,
};

function statusNames(): (keyof typeof MetaStatusCode)[] {
  return Object.keys(MetaStatusCode).filter((key) => Number.isNaN(Number(key))) as (keyof typeof MetaStatusCode)[];
}

describe('errno mapping', () => {
  test('every MetaStatusCode maps to its errno, directly and through MetaError', () => {
    const names = statusNames();
    assert.equal(names.length, Object.keys(EXPECTED).length, 'the table covers every status');
    for (const name of names) {
      const status = MetaStatusCode[name];
      assert.equal(metaStatusToErrno(status), EXPECTED[name], name);
      if (status !== MetaStatusCode.OK) {
        assert.ok(EXPECTED[name] > 0, `${name} maps to a real errno`);
        assert.equal(toErrno(new MetaError(status)), EXPECTED[name], `MetaError ${name}`);
      }
    }
    assert.equal(metaStatusToErrno(999 as MetaStatusCode), Errno.EIO, 'an unknown status is EIO');
    assert.equal(toErrno(new RedirectError('127.0.0.1:1')), Errno.EAGAIN);
  });

  test('key gRPC statuses', () => {
    const cases: [Status, number][] = [
      [Status.OK, 0],
      [Status.CANCELLED, Errno.EINTR],
      [Status.DEADLINE_EXCEEDED, Errno.ETIMEDOUT],
      [Status.UNAVAILABLE, Errno.EIO],
      [Status.NOT_FOUND, Errno.ENOENT],
      [Status.ALREADY_EXISTS, Errno.EEXIST],
      [Status.PERMISSION_DENIED, Errno.EACCES],
      [Status.UNAUTHENTICATED, Errno.EACCES],
      [Status.RESOURCE_EXHAUSTED, Errno.EDQUOT],
      [Status.INVALID_ARGUMENT, Errno.EINVAL],
      [Status.OUT_OF_RANGE, Errno.EINVAL],
      [Status.UNIMPLEMENTED, Errno.ENOSYS],
      [Status.INTERNAL, Errno.EIO],
      [Status.DATA_LOSS, Errno.EIO],
      [Status.UNKNOWN, Errno.EIO],
    ];
    for (const [code, errno] of cases) assert.equal(grpcStatusToErrno(code), errno, Status[code]);
  });

  test('toErrno on what the RPC layer and others throw', () => {
    const rpc = (code: ConstructorParameters<typeof RpcError>[0], grpc: Status): RpcError => new RpcError(code, 'x', grpc, 1);
    assert.equal(toErrno(rpc('CURVEFS_ERR_DEADLINE', Status.DEADLINE_EXCEEDED)), Errno.ETIMEDOUT);
    assert.equal(toErrno(rpc('CURVEFS_ERR_UNAVAILABLE', Status.UNAVAILABLE)), Errno.EIO);
    assert.equal(toErrno(rpc('CURVEFS_ERR_CANCELLED', Status.CANCELLED)), Errno.EINTR);
    assert.equal(toErrno(rpc('CURVEFS_ERR_INVALID', Status.INVALID_ARGUMENT)), Errno.EINVAL);
    assert.equal(toErrno(rpc('CURVEFS_ERR_RPC', Status.INTERNAL)), Errno.EIO);
    assert.ok(CurveError.is(rpc('CURVEFS_ERR_RPC', Status.INTERNAL)));
    assert.equal(toErrno(new StorageError('gone', { notFound: true })), Errno.ENOENT);
    assert.equal(toErrno(Object.assign(new Error('svc'), { code: Status.DEADLINE_EXCEEDED, metadata: new Metadata() })), Errno.ETIMEDOUT);
    assert.equal(toErrno(Object.assign(new Error('sys'), { code: 'ENOENT' })), Errno.ENOENT);
    assert.equal(toErrno(AbortSignal.abort().reason), Errno.EINTR);
    assert.equal(toErrno(new Error('anything')), Errno.EIO);
    assert.equal(toErrno('not even an error'), Errno.EIO);
  });
});
