/**
 * The caller of a FUSE request as the Vfs wants it: uid and gid from the
 * FUSE context (exact: the kernel filled them in from the calling thread's
 * fsuid/fsgid), and the supplementary groups, which FUSE does not carry.
 *
 * Groups come from /proc/<pid>/status ("Groups:"), read only when a
 * permission decision asks for them (`groups` is a lazy getter: root callers
 * and callers that own the inode or match its gid never cause a read) and
 * cached per pid for a short time.
 *
 * The race, and what limits it: the groups are read AFTER the syscall
 * entered the kernel, so they are what the thread has now, not what it had
 * then. (a) The process may have changed its groups in between (setgroups):
 * we may judge with the new list. (b) The thread may have exited: we judge
 * with no supplementary groups, which can only refuse, never grant. (c) The
 * pid may have been reused by another process: the status file's fsuid and
 * fsgid must equal the request's uid and gid, else no supplementary groups
 * are used; a reused pid with the same fsuid/fsgid inside the cache TTL is
 * the case left open. The kernel, when `default_permissions` is on (the
 * default, fuse-options.ts), checks with the exact groups first, so this
 * race can only make the Vfs refuse what the kernel allowed, not the other
 * way round.
 *
 * pid 0 (a request the kernel makes on its own, e.g. a release after the
 * process died, or a caller in a pid namespace the mount cannot see) gets no
 * supplementary groups; so does a caller whose status file this process may
 * not read (procfs mounted with hidepid, and the mount not served by root).
 */
import fs from 'node:fs';
import { LRUCache } from 'lru-cache';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import type { Caller } from '../vfs/posix-permission.js';
import type { FuseRequestContext } from './fuse-native-binding.js';

export interface ProcStatusCredentials {
  /** The filesystem uid (4th field of "Uid:"), the one FUSE reports. */
  readonly fsuid: number;
  readonly fsgid: number;
  readonly groups: readonly number[];
}

/** Parses the Uid:, Gid: and Groups: lines of /proc/<pid>/status; null when any is missing or malformed. */
export function parseProcStatus(text: string): ProcStatusCredentials | null {
  let fsuid: number | null = null;
  let fsgid: number | null = null;
  let groups: number[] | null = null;
  const ids = (rest: string): number[] | null => {
    const fields = rest.trim().split(/\s+/).filter((f) => f.length > 0);
    const values = fields.map(Number);
    return values.every((v) => Number.isInteger(v) && v >= 0) ? values : null;
  };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const rest = line.slice(colon + 1);
    if (key === 'Uid' || key === 'Gid') {
      const values = ids(rest);
      if (values === null || values.length !== 4) return null;
      if (key === 'Uid') fsuid = values[3]!;
      else fsgid = values[3]!;
    } else if (key === 'Groups') {
      groups = ids(rest);
      if (groups === null) return null;
    }
  }
  return fsuid === null || fsgid === null || groups === null ? null : { fsuid, fsgid, groups };
}

export interface CallerGroupsOptions {
  /** A monotonic clock for the cache. */
  readonly clock: Clock;
  /** How long a pid's groups are reused (default 1000 ms). */
  readonly ttlMs?: number;
  /** Pids remembered (default 4096). */
  readonly pidsMax?: number;
  /** Reads /proc/<pid>/status; null when it cannot be read (tests inject one). */
  readonly readStatus?: (pid: number) => string | null;
}

/** procfs never touches our own mount, so a synchronous read cannot wait on this process. */
function readProcStatus(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

const NO_GROUPS: readonly number[] = Object.freeze([]);

/** Supplementary groups by pid, read lazily from procfs and cached briefly (see the module comment). */
export class CallerGroups {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly readStatus: (pid: number) => string | null;
  private readonly cache: LRUCache<number, { readonly atMs: number; readonly credentials: ProcStatusCredentials | null }>;
  /** procfs reads done (tests check laziness and caching). */
  reads = 0;

  constructor(options: CallerGroupsOptions) {
    this.clock = options.clock;
    this.ttlMs = options.ttlMs ?? 1_000;
    this.readStatus = options.readStatus ?? readProcStatus;
    const pidsMax = options.pidsMax ?? 4_096;
    assert(this.ttlMs >= 0 && Number.isInteger(pidsMax) && pidsMax > 0, 'caller groups cache settings');
    this.cache = new LRUCache({ max: pidsMax });
  }

  /** The supplementary groups of `pid`, if its current fsuid/fsgid still match the request's. */
  groupsOf(pid: number, uid: number, gid: number): readonly number[] {
    if (pid === 0) return NO_GROUPS;
    const nowMs = this.clock.nowMs();
    let entry = this.cache.get(pid);
    if (entry === undefined || nowMs - entry.atMs > this.ttlMs) {
      this.reads++;
      const text = this.readStatus(pid);
      entry = { atMs: nowMs, credentials: text === null ? null : parseProcStatus(text) };
      this.cache.set(pid, entry);
    }
    const credentials = entry.credentials;
    if (credentials === null || credentials.fsuid !== uid || credentials.fsgid !== gid) return NO_GROUPS;
    return credentials.groups;
  }

  /** The Vfs caller of a request; `groups` is read on first use only. */
  callerOf(context: FuseRequestContext): Caller {
    const { uid, gid, pid } = context;
    let groups: readonly number[] | null = null;
    const lookup = (): readonly number[] => (groups ??= this.groupsOf(pid, uid, gid));
    return {
      uid,
      gid,
      get groups(): readonly number[] {
        return lookup();
      },
    };
  }
}
