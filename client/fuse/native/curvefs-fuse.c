/*
 * CurveFS-TS FUSE binding: a patched copy of fuse-native 2.2.6's native part
 * (fuse-native.c, https://github.com/fuse-friends/fuse-native, MIT license,
 * (c) Mathias Buus and contributors; see LICENSE beside this file).
 *
 * Why a copy: fuse-native never tells JavaScript who made a request, so a
 * file system served by it cannot check permissions for the calling process
 * nor give new files their creator's uid/gid.
 *
 * What was changed (everything else is fuse-native 2.2.6 as released):
 *  1. The caller: every operation, on the FUSE thread that received it and
 *     before dispatching to the JS thread, copies fuse_get_context()->uid,
 *     gid and pid into its thread locals (FUSE_NATIVE_HANDLER, and init).
 *     The JS handler receives them as three extra uint32 arguments AFTER the
 *     operation's own ones: handler(locals, opcode, ...opArgs, uid, gid, pid).
 *     The locals are per FUSE thread and the thread blocks until JS signals,
 *     so the values cannot be overwritten by another request meanwhile.
 *  2. napi-macros.h is included from beside this file (a vendored copy of
 *     napi-macros 2.2.2, MIT, same author) instead of from node_modules.
 *  3. Built against the system libfuse 2 (Debian libfuse-dev, pkg-config
 *     "fuse") by binding.gyp here, not against fuse-shared-library's copy.
 *  4. Timestamps at full precision, with "now" and "omit" kept apart.
 *     fuse-native turned each struct timespec into milliseconds: stats lost
 *     their nanoseconds, and utimens passed the access time twice, with
 *     UTIME_NOW and UTIME_OMIT both arriving as 1073 ms. Now:
 *     - utimens hands JS, for atime then mtime, three uint32s each:
 *       seconds low, seconds high, nanoseconds, where the nanoseconds may be
 *       UTIME_NOW or UTIME_OMIT (exported as utime_now / utime_omit);
 *     - a stat (getattr, fgetattr, readdir) is 21 uint32s: the 12 as
 *       before, then atime, mtime, ctime as seconds low, seconds high,
 *       nanoseconds (populate_stat);
 *     - fuse_operations.flag_utime_omit_ok is set, so libfuse 2.9 calls
 *       utimens with UTIME_OMIT for the time the kernel leaves alone
 *       (touch -a, touch -m) and UTIME_NOW for "now"; without it libfuse
 *       calls utimens only when both times are set, and never says "now".
 *  5. Requests larger than 128 KiB (see "Large requests" below). libfuse 2.9
 *     predates FUSE_MAX_PAGES (kernel 4.20, protocol 7.28), so the kernel
 *     keeps its default of 32 pages per request: every read and write is cut
 *     into 128 KiB pieces, each a round trip to JS. The mount now serves the
 *     kernel's /dev/fuse descriptor through a channel of our own
 *     (fuse_chan_new, public in libfuse 2.9) that
 *     - has a receive buffer of the requested size plus 4 KiB, so libfuse's
 *       do_init does not clamp max_write to 128 KiB and fuse_loop_mt's
 *       workers read whole 1 MiB requests;
 *     - rewrites libfuse's reply to FUSE_INIT (matched by the request's
 *       unique id) into the longer 7.28 layout with FUSE_MAX_PAGES and
 *       max_pages, everything else as libfuse chose it, when the kernel
 *       offered FUSE_MAX_PAGES; otherwise the reply goes out untouched and
 *       requests stay at 128 KiB;
 *     - counts READ and WRITE requests and their sizes (fuse_native_io_stats)
 *       so tests and benchmarks can see what was negotiated.
 *     The protocol minor we answer stays libfuse's (7.19): the kernel reads
 *     max_pages whatever the minor, and every other reply keeps the layout
 *     libfuse writes.
 */

#define FUSE_USE_VERSION 29

#include <uv.h>
#include <node_api.h>
#include "napi-macros.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <assert.h>

#include <fuse.h>
#include <fuse_opt.h>
#include <fuse_common.h>
#include <fuse_lowlevel.h>

#include <unistd.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <pthread.h>

static int IS_ARRAY_BUFFER_DETACH_SUPPORTED = 0;

napi_status napi_detach_arraybuffer(napi_env env, napi_value buf);

#define FUSE_NATIVE_CALLBACK(fn, blk)\
  napi_env env = ft->env;\
  napi_handle_scope scope;\
  napi_open_handle_scope(env, &scope);\
  napi_value ctx;\
  napi_get_reference_value(env, ft->ctx, &ctx);\
  napi_value callback;\
  napi_get_reference_value(env, fn, &callback);\
  blk\
  napi_close_handle_scope(env, scope);

#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = get_thread_locals();\
  capture_caller(l);\
  l->op = op_##name;\
  l->op_fn = fuse_native_dispatch_##name;\
  blk\
  uv_async_send(&(l->async));\
  uv_sem_wait(&(l->sem));\
  return l->res;

#define FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, signalBlk)\
  static void fuse_native_dispatch_##name (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
    uint32_t op = op_##name;\
    FUSE_NATIVE_CALLBACK(ft->handlers[op], {\
      napi_value argv[callbackArgs + 2 + CALLER_ARGS];\
      napi_get_reference_value(env, l->self, &(argv[0]));\
      napi_create_uint32(env, l->op, &(argv[1]));\
      callbackBlk\
      push_caller(env, l, &(argv[callbackArgs + 2]));\
      NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, callbackArgs + 2 + CALLER_ARGS, argv, NULL)\
    })\
  }\
  NAPI_METHOD(fuse_native_signal_##name) {\
    NAPI_ARGV(signalArgs + 2)\
    NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);\
    NAPI_ARGV_INT32(res, 1);\
    signalBlk\
    l->res = res;\
    uv_sem_post(&(l->sem));\
    return NULL;\
  }\
  static int fuse_native_##name signature {\
    FUSE_NATIVE_HANDLER(name, callBlk)\
  }

#define FUSE_METHOD_VOID(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk)\
  FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, {})

#define FUSE_UINT64_TO_INTS_ARGV(n, pos)\
  uint32_t low##pos = n % 4294967296;\
  uint32_t high##pos = (n - low##pos) / 4294967296;\
  napi_create_uint32(env, low##pos, &(argv[pos]));\
  napi_create_uint32(env, high##pos, &(argv[pos + 1]));


// Opcodes

static const uint32_t op_init = 0;
static const uint32_t op_error = 1;
static const uint32_t op_access = 2;
static const uint32_t op_statfs = 3;
static const uint32_t op_fgetattr = 4;
static const uint32_t op_getattr = 5;
static const uint32_t op_flush = 6;
static const uint32_t op_fsync = 7;
static const uint32_t op_fsyncdir = 8;
static const uint32_t op_readdir = 9;
static const uint32_t op_truncate = 10;
static const uint32_t op_ftruncate = 11;
static const uint32_t op_utimens = 12;
static const uint32_t op_readlink = 13;
static const uint32_t op_chown = 14;
static const uint32_t op_chmod = 15;
static const uint32_t op_mknod = 16;
static const uint32_t op_setxattr = 17;
static const uint32_t op_getxattr = 18;
static const uint32_t op_listxattr = 19;
static const uint32_t op_removexattr = 20;
static const uint32_t op_open = 21;
static const uint32_t op_opendir = 22;
static const uint32_t op_read = 23;
static const uint32_t op_write = 24;
static const uint32_t op_release = 25;
static const uint32_t op_releasedir = 26;
static const uint32_t op_create = 27;
static const uint32_t op_unlink = 28;
static const uint32_t op_rename = 29;
static const uint32_t op_link = 30;
static const uint32_t op_symlink = 31;
static const uint32_t op_mkdir = 32;
static const uint32_t op_rmdir = 33;

// Data structures

typedef struct {
  napi_env env;
  pthread_t thread;
  pthread_attr_t attr;
  napi_ref ctx;
  napi_ref malloc;

  // Operation handlers
  napi_ref handlers[35];

  struct fuse *fuse;
  struct fuse_chan *ch;
  char mnt[1024];
  char mntopts[1024];
  int mounted;

  uv_async_t async;
  uv_mutex_t mut;
  uv_sem_t sem;

  // Large requests (CurveFS patch 5). Written by the FUSE threads, read by JS
  // through fuse_native_io_stats; INIT is answered before any other request
  // arrives, so its fields are settled once requests flow.
  uint32_t io_bytes_max;        // bytes per request the mount asked for
  uint32_t init_state;          // 0: no INIT yet, 1: INIT received, 2: INIT answered
  uint64_t init_unique;         // the INIT request's unique id
  uint32_t kernel_minor;        // protocol minor the kernel offered
  uint32_t kernel_flags;        // init flags the kernel offered
  uint32_t init_reply_bytes;    // length of libfuse's INIT reply payload
  uint32_t init_max_pages;      // max_pages we told the kernel (0: not extended)
  uint32_t init_max_write;      // max_write in the reply
  uint64_t read_requests;
  uint64_t read_bytes;
  uint32_t read_max;
  uint64_t write_requests;
  uint64_t write_bytes;
  uint32_t write_max;
} fuse_thread_t;

typedef struct {
  napi_ref self;

  // Opcode
  uint32_t op;
  void *op_fn;

  // Payloads
  const char *path;
  const char *dest;
  char *linkname;
  struct fuse_file_info *info;
  const void *buf;
  off_t offset;
  size_t len;
  mode_t mode;
  dev_t dev;
  uid_t uid;
  gid_t gid;
  struct timespec atime;
  struct timespec mtime;
  int32_t res;

  // Extended attributes
  const char *name;
  const char *value;
  char *list;
  size_t size;
  uint32_t position;
  int flags;

  // Stat + Statfs
  struct stat *stat;
  struct statvfs *statvfs;

  // Readdir
  fuse_fill_dir_t readdir_filler;

  // The request's caller (CurveFS patch): from fuse_get_context() on the FUSE thread.
  uint32_t caller_uid;
  uint32_t caller_gid;
  uint32_t caller_pid;

  // Internal bookkeeping
  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;

} fuse_thread_locals_t;

static pthread_key_t thread_locals_key;
static fuse_thread_locals_t* get_thread_locals();

// The caller (CurveFS patch). Runs on the FUSE thread, where the context is the request's.
#define CALLER_ARGS 3

static void capture_caller (fuse_thread_locals_t *l) {
  struct fuse_context *fc = fuse_get_context();
  l->caller_uid = (uint32_t) fc->uid;
  l->caller_gid = (uint32_t) fc->gid;
  l->caller_pid = (uint32_t) fc->pid;
}

// Runs on the JS thread: appends uid, gid, pid to a handler's arguments.
static void push_caller (napi_env env, fuse_thread_locals_t *l, napi_value *out) {
  napi_create_uint32(env, l->caller_uid, &(out[0]));
  napi_create_uint32(env, l->caller_gid, &(out[1]));
  napi_create_uint32(env, l->caller_pid, &(out[2]));
}

// Helpers
// Upstream fuse-native note (kept as it was): Extract into a separate file.

static uint64_t uint32s_to_uint64 (uint32_t **ints) {
  uint64_t low = *((*ints)++);
  uint64_t high = *((*ints)++);
  return high * 4294967296 + low;
}

// A time as three uint32s: seconds low, seconds high, nanoseconds (CurveFS patch 4).
static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  ts->tv_sec = (time_t) uint32s_to_uint64(ints);
  ts->tv_nsec = (long) *((*ints)++);
}

// The inverse, into a callback's argv. Seconds before 1970 are not kept
// (stored times are unsigned); tv_nsec passes through, UTIME_NOW/OMIT included.
#define FUSE_TIMESPEC_TO_INTS_ARGV(ts, pos)\
  FUSE_UINT64_TO_INTS_ARGV((uint64_t) ((ts).tv_sec < 0 ? 0 : (ts).tv_sec), pos)\
  napi_create_uint32(env, (uint32_t) (ts).tv_nsec, &(argv[pos + 2]));

static void populate_stat (uint32_t *ints, struct stat* stat) {
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = *ints++;
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
#ifdef __APPLE__
  uint32s_to_timespec(&stat->st_atimespec, &ints);
  uint32s_to_timespec(&stat->st_mtimespec, &ints);
  uint32s_to_timespec(&stat->st_ctimespec, &ints);
#else
  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
#endif
}

static void populate_statvfs (uint32_t *ints, struct statvfs* statvfs) {
  statvfs->f_bsize = *ints++;
  statvfs->f_frsize = *ints++;
  statvfs->f_blocks = *ints++;
  statvfs->f_bfree = *ints++;
  statvfs->f_bavail = *ints++;
  statvfs->f_files = *ints++;
  statvfs->f_ffree = *ints++;
  statvfs->f_favail = *ints++;
  statvfs->f_fsid = *ints++;
  statvfs->f_flag = *ints++;
  statvfs->f_namemax = *ints++;
}

// Methods

FUSE_METHOD(statfs, 1, 1, (const char * path, struct statvfs *statvfs), {
  l->path = path;
  l->statvfs = statvfs;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_statvfs(ints, l->statvfs);
})

FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {
  l->path = path;
  l->stat = stat;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
})

FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {
  l->path = path;
  l->stat = stat;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
})

FUSE_METHOD_VOID(access, 2, 0, (const char *path, int mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->flags, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD(opendir, 3, 1, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
    napi_create_uint32(env, l->info->flags, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
    napi_create_uint32(env, 0, &(argv[4]));
  }
}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {
  l->path = path;
  l->mode = mode;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD_VOID(utimens, 7, 0, (const char *path, const struct timespec tv[2]), {
  l->path = path;
  l->atime = tv[0];
  l->mtime = tv[1];
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_TIMESPEC_TO_INTS_ARGV(l->atime, 3)
  FUSE_TIMESPEC_TO_INTS_ARGV(l->mtime, 6)
})

FUSE_METHOD_VOID(release, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD_VOID(releasedir, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(write, 6, 2, (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(readdir, 1, 2, (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info), {
  l->buf = buf;
  l->path = path;
  l->offset = offset;
  l->info = info;
  l->readdir_filler = filler;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  uint32_t stats_length;
  uint32_t names_length;
  napi_get_array_length(env, argv[3], &stats_length);
  napi_get_array_length(env, argv[2], &names_length);

  napi_value raw_names = argv[2];
  napi_value raw_stats = argv[3];

  if (names_length != stats_length) {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      int err = l->readdir_filler((char *) l->buf, name, NULL, 0);
      if (err == 1) {
        break;
      }
    }
  } else {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      napi_value raw_stat;
      napi_get_element(env, raw_stats, i, &raw_stat);

      NAPI_BUFFER_CAST(uint32_t*, stats_array, raw_stat);
      struct stat st;
      populate_stat(stats_array, &st);

      // Upstream fuse-native note (kept as it was): It turns out readdirplus likely won't work with FUSE 29...
      // Metadata caching between readdir/getattr will be enabled when we upgrade fuse-shared-library
      int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, 0);
      if (err == 1) {
        break;
      }
    }
  }
})

#ifdef __APPLE__

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
  l->position = position;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->position = position;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

#else

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5])); // normalize apis between mac and linux
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

#endif

FUSE_METHOD(listxattr, 2, 1, (const char *path, char *list, size_t size), {
  l->path = path;
  l->list = list;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_external_buffer(env, l->size, l->list, NULL, NULL, &(argv[3]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD_VOID(removexattr, 2, 0, (const char *path, const char *name), {
  l->path = path;
  l->name = name;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(flush, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD_VOID(fsync, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})

FUSE_METHOD_VOID(fsyncdir, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})


FUSE_METHOD_VOID(truncate, 3, 0, (const char *path, off_t size), {
  l->path = path;
  l->offset = size;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)
})

FUSE_METHOD_VOID(ftruncate, 4, 0, (const char *path, off_t size, struct fuse_file_info *info), {
  l->path = path;
  l->offset = size;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 4)
})

FUSE_METHOD(readlink, 1, 1, (const char *path, char *linkname, size_t len), {
  l->path = path;
  l->linkname = linkname;
  l->len = len;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_UTF8(linkname, l->len, 2)
  strncpy(l->linkname, linkname, l->len);
})

FUSE_METHOD_VOID(chown, 3, 0, (const char *path, uid_t uid, gid_t gid), {
  l->path = path;
  l->uid = uid;
  l->gid = gid;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->uid, &(argv[3]));
  napi_create_uint32(env, l->gid, &(argv[4]));
})

FUSE_METHOD_VOID(chmod, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(mknod, 3, 0, (const char *path, mode_t mode, dev_t dev), {
  l->path = path;
  l->mode = mode;
  l->dev = dev;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  napi_create_uint32(env, l->dev, &(argv[4]));
})

FUSE_METHOD_VOID(unlink, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})

FUSE_METHOD_VOID(rename, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(link, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(symlink, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(mkdir, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(rmdir, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})

static void fuse_native_dispatch_init (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
  FUSE_NATIVE_CALLBACK(ft->handlers[op_init], {
    napi_value argv[2 + CALLER_ARGS];

    napi_get_reference_value(env, l->self, &(argv[0]));
    napi_create_uint32(env, l->op, &(argv[1]));
    push_caller(env, l, &(argv[2]));

    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 2 + CALLER_ARGS, argv, NULL);
  })
}

NAPI_METHOD(fuse_native_signal_init) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);
  NAPI_ARGV_INT32(res, 1);
  l->res = res;
  uv_sem_post(&(l->sem));
  return NULL;
}

static void * fuse_native_init (struct fuse_conn_info *conn) {
  fuse_thread_locals_t *l = get_thread_locals();
  capture_caller(l);

  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;

  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));

  return l->fuse;
}

// Top-level dispatcher

static void fuse_native_dispatch (uv_async_t* handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  fuse_thread_t *ft = l->fuse;
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;

  fn(handle, l, ft);
}

static void fuse_native_async_init (uv_async_t* handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  fuse_thread_locals_t *l;

  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(ft->env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));

    napi_value buf;
    NAPI_MAKE_CALLBACK(ft->env, NULL, ctx, callback, 1, argv, &buf);

    size_t l_len;

    napi_get_buffer_info(env, buf, (void **) &l, &l_len);
    napi_create_reference(env, buf, 1, &(l->self));
  })


  int err = uv_async_init(uv_default_loop(), &(l->async), (uv_async_cb) fuse_native_dispatch);
  assert(err >= 0);

  uv_unref((uv_handle_t *) &(l->async));

  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  ft->async.data = l;
  l->fuse = ft;

  uv_sem_post(&(ft->sem));
}

static fuse_thread_locals_t* get_thread_locals () {
  struct fuse_context *ctx = fuse_get_context();
  fuse_thread_t *ft = (fuse_thread_t *) ctx->private_data;

  void *data = pthread_getspecific(thread_locals_key);

  if (data != NULL) {
    return (fuse_thread_locals_t *) data;
  }

  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  ft->async.data = ft;

  // Notify the main thread to uv_async_init l->async.
  uv_async_send(&(ft->async));
  uv_sem_wait(&(ft->sem));

  fuse_thread_locals_t *l = (fuse_thread_locals_t*) ft->async.data;

  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(ft->mut));

  return l;
}


// Large requests (CurveFS patch 5): our channel over the kernel's /dev/fuse fd.

// The FUSE wire format (Linux include/uapi/linux/fuse.h), only what we read
// or rewrite. libfuse 2.9 does not install its fuse_kernel.h, and its copy
// stops at 7.19, before max_pages.
#define CFS_FUSE_READ 15
#define CFS_FUSE_WRITE 16
#define CFS_FUSE_INIT 26
#define CFS_FUSE_MAX_PAGES (1u << 22)
// The kernel's default and what libfuse's own channel is sized for.
#define CFS_DEFAULT_MAX_PAGES 32
// Room libfuse keeps for headers in a receive buffer (do_init: bufsize -= 4096).
#define CFS_HEADER_ROOM 4096

struct cfs_in_header {
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid;
  uint32_t gid;
  uint32_t pid;
  uint32_t padding;
};

struct cfs_out_header {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};

struct cfs_init_in {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
};

// fuse_init_out as of 7.28+ (64 bytes); libfuse 2.9 fills the first 24.
struct cfs_init_out {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t unused[7];
};

// fuse_read_in and fuse_write_in start alike: fh, offset, size.
struct cfs_io_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
};

_Static_assert(sizeof(struct cfs_in_header) == 40, "fuse_in_header is 40 bytes");
_Static_assert(sizeof(struct cfs_out_header) == 16, "fuse_out_header is 16 bytes");
_Static_assert(sizeof(struct cfs_init_out) == 64, "fuse_init_out is 64 bytes");
_Static_assert(offsetof(struct cfs_init_out, time_gran) == 24, "libfuse 2.9's reply ends at time_gran");
_Static_assert(offsetof(struct cfs_init_out, max_pages) == 28, "max_pages follows time_gran");

// The reply we send when extending: up to and including map_alignment.
#define CFS_INIT_OUT_EXTENDED_BYTES (offsetof(struct cfs_init_out, map_alignment) + sizeof(uint16_t))

static void store_max (uint32_t *slot, uint32_t value) {
  uint32_t seen = __atomic_load_n(slot, __ATOMIC_RELAXED);
  while (value > seen && !__atomic_compare_exchange_n(slot, &seen, value, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

// Runs on the FUSE thread that read the request: remember INIT, count I/O.
static void note_request (fuse_thread_t *ft, const char *buf, size_t len) {
  const struct cfs_in_header *in = (const struct cfs_in_header *) buf;
  const char *arg = buf + sizeof(struct cfs_in_header);
  size_t arg_len = len - sizeof(struct cfs_in_header);

  if ((in->opcode == CFS_FUSE_READ || in->opcode == CFS_FUSE_WRITE) && arg_len >= sizeof(struct cfs_io_in)) {
    uint32_t size = ((const struct cfs_io_in *) arg)->size;
    if (in->opcode == CFS_FUSE_READ) {
      __atomic_fetch_add(&ft->read_requests, 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&ft->read_bytes, size, __ATOMIC_RELAXED);
      store_max(&ft->read_max, size);
    } else {
      __atomic_fetch_add(&ft->write_requests, 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&ft->write_bytes, size, __ATOMIC_RELAXED);
      store_max(&ft->write_max, size);
    }
    return;
  }

  if (in->opcode == CFS_FUSE_INIT && __atomic_load_n(&ft->init_state, __ATOMIC_ACQUIRE) == 0 && arg_len >= sizeof(struct cfs_init_in)) {
    const struct cfs_init_in *init = (const struct cfs_init_in *) arg;
    ft->init_unique = in->unique;
    ft->kernel_minor = init->minor;
    ft->kernel_flags = init->minor >= 6 ? init->flags : 0;
    __atomic_store_n(&ft->init_state, 1, __ATOMIC_RELEASE);
  }
}

// The max_pages to ask for: what the mount asked for, in whole pages, when
// that is more than the kernel's default and the kernel knows FUSE_MAX_PAGES.
// The kernel clamps it to fs.fuse.max_pages_limit (256 by default).
static uint32_t wanted_max_pages (fuse_thread_t *ft) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || !(ft->kernel_flags & CFS_FUSE_MAX_PAGES)) return 0;
  uint32_t pages = ft->io_bytes_max / (uint32_t) page;
  if (pages <= CFS_DEFAULT_MAX_PAGES) return 0;
  return pages > 65535 ? 65535 : pages;
}

/*
 * libfuse's INIT reply, extended to carry max_pages. `iov` is libfuse's reply
 * (header, then the payload in one or more pieces); on success `hdr`, `out`
 * and `into` hold the reply to send instead. Only a successful reply of the
 * expected size (24 bytes from libfuse 2.9, at most the 64 of 7.28+) is
 * touched: anything else goes out as it is.
 */
static int extend_init_reply (fuse_thread_t *ft, const struct iovec iov[], size_t count,
                              struct cfs_out_header *hdr, struct cfs_init_out *out, struct iovec into[2]) {
  memcpy(hdr, iov[0].iov_base, sizeof(*hdr));
  size_t payload = 0;
  for (size_t i = 1; i < count; i++) payload += iov[i].iov_len;
  ft->init_reply_bytes = (uint32_t) payload;
  if (hdr->error != 0 || payload < offsetof(struct cfs_init_out, time_gran) || payload > sizeof(*out)) return 0;

  memset(out, 0, sizeof(*out));
  size_t at = 0;
  for (size_t i = 1; i < count; i++) {
    memcpy(((char *) out) + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  ft->init_max_write = out->max_write;

  uint32_t pages = wanted_max_pages(ft);
  if (pages == 0) return 0;
  out->flags |= CFS_FUSE_MAX_PAGES;
  out->max_pages = (uint16_t) pages;
  ft->init_max_pages = pages;

  size_t len = payload > CFS_INIT_OUT_EXTENDED_BYTES ? payload : CFS_INIT_OUT_EXTENDED_BYTES;
  hdr->len = (uint32_t) (sizeof(*hdr) + len);
  into[0].iov_base = hdr;
  into[0].iov_len = sizeof(*hdr);
  into[1].iov_base = out;
  into[1].iov_len = len;
  return 1;
}

// As libfuse's fuse_kern_chan_receive, plus note_request.
static int curvefs_chan_receive (struct fuse_chan **chp, char *buf, size_t size) {
  struct fuse_chan *ch = *chp;
  fuse_thread_t *ft = (fuse_thread_t *) fuse_chan_data(ch);
  struct fuse_session *se = fuse_chan_session(ch);
  assert(se != NULL);
  ssize_t res;
  int err;

  for (;;) {
    res = read(fuse_chan_fd(ch), buf, size);
    err = errno;
    if (fuse_session_exited(se)) return 0;
    // ENOENT: the request was interrupted before we read it; read the next.
    if (res == -1 && err == ENOENT) continue;
    break;
  }
  if (res == -1) {
    // ENODEV: unmounted.
    if (err == ENODEV) {
      fuse_session_exit(se);
      return 0;
    }
    if (err != EINTR && err != EAGAIN) perror("fuse: reading device");
    return -err;
  }
  if ((size_t) res < sizeof(struct cfs_in_header)) {
    fprintf(stderr, "short read on fuse device\n");
    return -EIO;
  }
  note_request(ft, buf, (size_t) res);
  return (int) res;
}

// As libfuse's fuse_kern_chan_send, except that the first reply to INIT may be extended.
static int curvefs_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  if (iov == NULL) return 0;
  fuse_thread_t *ft = (fuse_thread_t *) fuse_chan_data(ch);
  struct cfs_out_header hdr;
  struct cfs_init_out out;
  struct iovec extended[2];

  if (__atomic_load_n(&ft->init_state, __ATOMIC_ACQUIRE) == 1 && count >= 1 && iov[0].iov_len == sizeof(struct cfs_out_header) &&
      ((const struct cfs_out_header *) iov[0].iov_base)->unique == ft->init_unique) {
    if (extend_init_reply(ft, iov, count, &hdr, &out, extended)) {
      iov = extended;
      count = 2;
    }
    __atomic_store_n(&ft->init_state, 2, __ATOMIC_RELEASE);
  }

  ssize_t res = writev(fuse_chan_fd(ch), iov, count);
  int err = errno;
  if (res == -1) {
    struct fuse_session *se = fuse_chan_session(ch);
    assert(se != NULL);
    // ENOENT: the request was interrupted meanwhile.
    if (!fuse_session_exited(se) && err != ENOENT) perror("fuse: writing device");
    return -err;
  }
  return 0;
}

static void curvefs_chan_destroy (struct fuse_chan *ch) {
  int fd = fuse_chan_fd(ch);
  if (fd != -1) close(fd);
}

/*
 * Replaces the channel fuse_mount() made with ours over the same descriptor
 * (duplicated: destroying libfuse's channel closes its copy). On failure the
 * mount is undone and NULL returned.
 */
static struct fuse_chan * curvefs_chan_new (const char *mnt, struct fuse_chan *kernel_ch, fuse_thread_t *ft) {
  struct fuse_chan_ops ops = {
    .receive = curvefs_chan_receive,
    .send = curvefs_chan_send,
    .destroy = curvefs_chan_destroy,
  };
  uint32_t io_bytes = ft->io_bytes_max;
  uint32_t default_bytes = CFS_DEFAULT_MAX_PAGES * (uint32_t) sysconf(_SC_PAGESIZE);
  if (io_bytes < default_bytes) io_bytes = default_bytes;

  int fd = fcntl(fuse_chan_fd(kernel_ch), F_DUPFD_CLOEXEC, 0);
  fuse_chan_destroy(kernel_ch);
  if (fd == -1) {
    fuse_unmount(mnt, NULL);
    return NULL;
  }
  struct fuse_chan *ch = fuse_chan_new(&ops, fd, (size_t) io_bytes + CFS_HEADER_ROOM, ft);
  if (ch == NULL) {
    close(fd);
    fuse_unmount(mnt, NULL);
  }
  return ch;
}

NAPI_METHOD(fuse_native_io_stats) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  NAPI_ARGV_BUFFER_CAST(double *, out, 1);
  out[0] = (double) __atomic_load_n(&ft->init_state, __ATOMIC_ACQUIRE);
  out[1] = (double) ft->kernel_minor;
  out[2] = (double) ft->kernel_flags;
  out[3] = (double) ft->init_reply_bytes;
  out[4] = (double) ft->init_max_pages;
  out[5] = (double) ft->init_max_write;
  out[6] = (double) __atomic_load_n(&ft->read_requests, __ATOMIC_RELAXED);
  out[7] = (double) __atomic_load_n(&ft->read_bytes, __ATOMIC_RELAXED);
  out[8] = (double) __atomic_load_n(&ft->read_max, __ATOMIC_RELAXED);
  out[9] = (double) __atomic_load_n(&ft->write_requests, __ATOMIC_RELAXED);
  out[10] = (double) __atomic_load_n(&ft->write_bytes, __ATOMIC_RELAXED);
  out[11] = (double) __atomic_load_n(&ft->write_max, __ATOMIC_RELAXED);
  return NULL;
}

static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  fuse_loop_mt(ft->fuse);

  // Detach the channel before fuse_unmount frees it (upstream did it after:
  // a read of freed memory), so fuse_destroy does not free it twice.
  fuse_session_remove_chan(ft->ch);
  fuse_unmount(ft->mnt, ft->ch);
  fuse_destroy(ft->fuse);

  return NULL;
}

NAPI_METHOD(fuse_native_mount) {
  NAPI_ARGV(8)

  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_UTF8(mntopts, 1024, 1);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 2);
  napi_create_reference(env, argv[3], 1, &(ft->ctx));
  napi_create_reference(env, argv[4], 1, &(ft->malloc));
  napi_value handlers = argv[5];
  NAPI_ARGV_BUFFER_CAST(uint32_t *, implemented, 6)
  // Bytes per READ/WRITE request wanted (CurveFS patch 5); up to 128 KiB means the kernel's default.
  NAPI_ARGV_UINT32(io_bytes_max, 7)

  for (int i = 0; i < 35; i++) {
    ft->handlers[i] = NULL;
  }

  NAPI_FOR_EACH(handlers, handler) {
    napi_create_reference(env, handler, 1, &ft->handlers[i]);
  }

  ft->env = env;

  struct fuse_operations ops = { };
  if (implemented[op_access]) ops.access = fuse_native_access;
  if (implemented[op_truncate]) ops.truncate = fuse_native_truncate;
  if (implemented[op_ftruncate]) ops.ftruncate = fuse_native_ftruncate;
  if (implemented[op_getattr]) ops.getattr = fuse_native_getattr;
  if (implemented[op_fgetattr]) ops.fgetattr = fuse_native_fgetattr;
  if (implemented[op_flush]) ops.flush = fuse_native_flush;
  if (implemented[op_fsync]) ops.fsync = fuse_native_fsync;
  if (implemented[op_fsyncdir]) ops.fsyncdir = fuse_native_fsyncdir;
  if (implemented[op_readdir]) ops.readdir = fuse_native_readdir;
  if (implemented[op_readlink]) ops.readlink = fuse_native_readlink;
  if (implemented[op_chown]) ops.chown = fuse_native_chown;
  if (implemented[op_chmod]) ops.chmod = fuse_native_chmod;
  if (implemented[op_mknod]) ops.mknod = fuse_native_mknod;
  if (implemented[op_setxattr]) ops.setxattr = fuse_native_setxattr;
  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;
  if (implemented[op_listxattr]) ops.listxattr = fuse_native_listxattr;
  if (implemented[op_removexattr]) ops.removexattr = fuse_native_removexattr;
  if (implemented[op_statfs]) ops.statfs = fuse_native_statfs;
  if (implemented[op_open]) ops.open = fuse_native_open;
  if (implemented[op_opendir]) ops.opendir = fuse_native_opendir;
  if (implemented[op_read]) ops.read = fuse_native_read;
  if (implemented[op_write]) ops.write = fuse_native_write;
  if (implemented[op_release]) ops.release = fuse_native_release;
  if (implemented[op_releasedir]) ops.releasedir = fuse_native_releasedir;
  if (implemented[op_create]) ops.create = fuse_native_create;
  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;
  if (implemented[op_unlink]) ops.unlink = fuse_native_unlink;
  if (implemented[op_rename]) ops.rename = fuse_native_rename;
  if (implemented[op_link]) ops.link = fuse_native_link;
  if (implemented[op_symlink]) ops.symlink = fuse_native_symlink;
  if (implemented[op_mkdir]) ops.mkdir = fuse_native_mkdir;
  if (implemented[op_rmdir]) ops.rmdir = fuse_native_rmdir;
  if (implemented[op_init]) ops.init = fuse_native_init;
  // utimens understands UTIME_NOW and UTIME_OMIT (CurveFS patch 4).
  ops.flag_utime_omit_ok = 1;

  int _argc = (strcmp(mntopts, "-o") <= 0) ? 1 : 2;
  char *_argv[] = {
    (char *) "fuse_bindings_dummy",
    (char *) mntopts
  };

  struct fuse_args args = FUSE_ARGS_INIT(_argc, _argv);
  struct fuse_chan *kernel_ch = fuse_mount(mnt, &args);

  if (kernel_ch == NULL) {
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  ft->io_bytes_max = io_bytes_max;
  ft->init_state = 0;
  struct fuse_chan *ch = curvefs_chan_new(mnt, kernel_ch, ft);
  if (ch == NULL) {
    napi_throw_error(env, "fuse failed", "fuse failed: cannot make the FUSE channel");
    return NULL;
  }

  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);

  uv_mutex_init(&(ft->mut));
  uv_sem_init(&(ft->sem), 0);

  strncpy(ft->mnt, mnt, 1024);
  strncpy(ft->mntopts, mntopts, 1024);
  ft->fuse = fuse;
  ft->ch = ch;
  ft->mounted++;

  int err = uv_async_init(uv_default_loop(), &(ft->async), (uv_async_cb) fuse_native_async_init);

  if (fuse == NULL || err < 0) {
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  pthread_attr_init(&(ft->attr));
  pthread_create(&(ft->thread), &(ft->attr), start_fuse_thread, ft);

  return NULL;
}

NAPI_METHOD(fuse_native_unmount) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 1);

  if (ft != NULL && ft->mounted) {
    // Upstream fuse-native note (kept as it was): Investigate why the FUSE thread is not always killed after fusermount.
    // pthread_join(ft->thread, NULL);
  }

  // Upstream fuse-native note (kept as it was): fix the async holding the loop
  uv_unref((uv_handle_t *) &(ft->async));
  ft->mounted--;

  return NULL;
}

NAPI_INIT() {
  const napi_node_version* version;
  assert(napi_get_node_version(env, &version) == napi_ok);

  if (version->major > 12 || (version->major == 12 && version->minor >= 16)) {
    IS_ARRAY_BUFFER_DETACH_SUPPORTED = 1;
  }

  pthread_key_create(&(thread_locals_key), NULL); // Upstream fuse-native note (kept as it was): add destructor

  NAPI_EXPORT_SIZEOF(fuse_thread_t)

  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(fuse_native_unmount)
  NAPI_EXPORT_FUNCTION(fuse_native_io_stats)

  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_init)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_access)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_statfs)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fgetattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_flush)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsync)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsyncdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_truncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_ftruncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_utimens)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chown)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chmod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mknod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_setxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_listxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_removexattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_open)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_opendir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_read)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_write)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_release)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_releasedir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_create)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_unlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rename)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_link)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_symlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mkdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rmdir)

  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_init)
  NAPI_EXPORT_UINT32(op_error)
  NAPI_EXPORT_UINT32(op_access)
  NAPI_EXPORT_UINT32(op_statfs)
  NAPI_EXPORT_UINT32(op_fgetattr)
  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_flush)
  NAPI_EXPORT_UINT32(op_fsync)
  NAPI_EXPORT_UINT32(op_fsyncdir)
  NAPI_EXPORT_UINT32(op_readdir)
  NAPI_EXPORT_UINT32(op_truncate)
  NAPI_EXPORT_UINT32(op_ftruncate)
  NAPI_EXPORT_UINT32(op_utimens)
  NAPI_EXPORT_UINT32(op_readlink)
  NAPI_EXPORT_UINT32(op_chown)
  NAPI_EXPORT_UINT32(op_chmod)
  NAPI_EXPORT_UINT32(op_mknod)
  NAPI_EXPORT_UINT32(op_setxattr)
  NAPI_EXPORT_UINT32(op_getxattr)
  NAPI_EXPORT_UINT32(op_listxattr)
  NAPI_EXPORT_UINT32(op_removexattr)
  NAPI_EXPORT_UINT32(op_open)
  NAPI_EXPORT_UINT32(op_opendir)
  NAPI_EXPORT_UINT32(op_read)
  NAPI_EXPORT_UINT32(op_write)
  NAPI_EXPORT_UINT32(op_release)
  NAPI_EXPORT_UINT32(op_releasedir)
  NAPI_EXPORT_UINT32(op_create)
  NAPI_EXPORT_UINT32(op_unlink)
  NAPI_EXPORT_UINT32(op_rename)
  NAPI_EXPORT_UINT32(op_link)
  NAPI_EXPORT_UINT32(op_symlink)
  NAPI_EXPORT_UINT32(op_mkdir)
  NAPI_EXPORT_UINT32(op_rmdir)

  // The special tv_nsec values utimens may pass (CurveFS patch 4).
  uint32_t utime_now = UTIME_NOW;
  uint32_t utime_omit = UTIME_OMIT;
  NAPI_EXPORT_UINT32(utime_now)
  NAPI_EXPORT_UINT32(utime_omit)
}
