/**
 * Complete name lists of "hot" directories: the bookkeeping behind the
 * Vfs's listing of a directory where lookups keep missing the caches.
 *
 * Why: the kernel LOOKUPs every name before it creates it, so each
 * open(O_CREAT), mkdir or symlink of a new name costs a GetDentry that
 * finds nothing, beside the create itself; and a loop over the names of a
 * directory (stat, unlink, open after a cache drop: ls -l without readdir,
 * rm, tar) costs one lookup each. A negative dentry cached for `ttlMs`
 * already means "this name was absent at most ttlMs ago"; a complete
 * listing taken at time T says that of every name not in it, so until
 * T + ttlMs it answers exactly as negative entries would (other clients'
 * new names show once it expires, as before). The names it holds, with
 * their attributes when those were read with it (one BatchGetInodeAttr, as
 * readdir does), go to the ordinary dentry and attribute caches with their
 * usual TTLs: statahead.
 *
 * Names this client adds or removes while a listing is valid are applied
 * to it (committed changes only); a change whose outcome is unknown drops
 * it. A listing that overlaps a committed change of this client in the
 * same directory is discarded (it may or may not show that change).
 *
 * A listing is taken only for a directory that has just had `hotMisses`
 * lookups the caches could not answer within `hotWindowMs` (in the current
 * or the previous window), and only if it holds at most `dirNamesMax`
 * names, so one ListDentry (per TTL) replaces many GetDentry calls, never a
 * few cheap ones. Once a listing has shown the directory's size, listing it
 * again takes a miss per `namesPerMiss` names as well (a 10,000-name
 * directory: 157 misses in a window), so a big directory with a few lookups
 * is not listed every TTL for them; attributes come along only when at least half of the last
 * hotMisses misses found the name (a stat or unlink loop, not a create loop). A directory
 * found larger is left alone for a while. Pure: time comes from the
 * injected clock.
 */
import { LRUCache } from 'lru-cache';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import type { InodeId } from './meta-api.js';

export interface KnownNamesOptions {
  readonly clock: Clock;
  /** How long a listing answers (the negative entry TTL); 0 turns the whole thing off. */
  readonly ttlMs: number;
  /** Lookups in one directory the caches could not answer, within `hotWindowMs`, that make it worth listing. */
  readonly hotMisses: number;
  readonly hotWindowMs: number;
  /** Whether listings may read attributes too (off when the attribute cache is). */
  readonly withAttrs: boolean;
  /** Largest directory listed. */
  readonly dirNamesMax: number;
  /** Names of the last listing per miss needed before listing it again. */
  readonly namesPerMiss: number;
  /** Names kept over all listings (least recently used listings go first). */
  readonly namesMax: number;
}

export const KNOWN_NAMES_DEFAULTS = {
  hotMisses: 8,
  hotWindowMs: 2_000,
  dirNamesMax: 20_000,
  namesPerMiss: 64,
  namesMax: 100_000,
} as const;

/** What a hot directory's next listing should read. */
export type ListingKind = 'names' | 'names-and-attrs';

interface Listing {
  readonly names: Set<string>;
  readonly expiresAtMs: number;
  readonly hasAttrs: boolean;
}

interface Misses {
  /** Misses in the window that began at windowStartMs, and in the window before it. */
  current: number;
  previous: number;
  windowStartMs: number;
  /** The last hotMisses outcomes, newest in bit 0: 1 = the name was found. */
  recentFound: number;
  /** Not listed before this time: it held more than dirNamesMax names when last tried. */
  largeUntilMs: number;
  /** Names in the last complete listing (0: none taken yet). */
  listedNames: number;
}

/** How long a directory found too large is not listed again, in hot windows. */
const LARGE_WINDOWS = 10;

/** A listing being taken: finish or abandon it exactly once. */
export interface ListingTicket {
  readonly dir: InodeId;
  readonly startMs: number;
  readonly kind: ListingKind;
}

export class KnownNames {
  private readonly clock: Clock;
  private readonly options: KnownNamesOptions;
  private readonly listings: LRUCache<InodeId, Listing>;
  private readonly misses: LRUCache<InodeId, Misses>;
  /** Directories with a listing in flight → whether this client changed a name there meanwhile. */
  private readonly inFlight = new Map<InodeId, { isChanged: boolean }>();

  constructor(options: KnownNamesOptions) {
    assert(options.ttlMs >= 0 && options.hotWindowMs > 0, 'known-names timings');
    assert(Number.isInteger(options.hotMisses) && options.hotMisses > 0 && options.hotMisses <= 30, 'hot misses fit the outcome bits');
    assert(options.dirNamesMax > 0 && options.namesMax >= options.dirNamesMax && options.namesPerMiss > 0, 'known-names budgets');
    this.clock = options.clock;
    this.options = options;
    this.listings = new LRUCache<InodeId, Listing>({ maxSize: options.namesMax, sizeCalculation: (l) => l.names.size + 1 });
    this.misses = new LRUCache<InodeId, Misses>({ max: 4_096 });
  }

  get dirNamesMax(): number {
    return this.options.dirNamesMax;
  }

  private get isOn(): boolean {
    return this.options.ttlMs > 0;
  }

  private validListing(dir: InodeId): Listing | undefined {
    const listing = this.listings.get(dir);
    if (listing === undefined) return undefined;
    if (this.clock.nowMs() < listing.expiresAtMs) return listing;
    this.listings.delete(dir);
    return undefined;
  }

  /** True when a valid listing of `dir` shows `name` absent. */
  isAbsent(dir: InodeId, name: string): boolean {
    const listing = this.validListing(dir);
    return listing !== undefined && !listing.names.has(name);
  }

  /**
   * A lookup in `dir` the dentry cache could not answer: `found` whether the
   * name exists. Absences a listing answered count too (a busy directory
   * stays hot across its listings' expiry).
   */
  noteMiss(dir: InodeId, found: boolean): void {
    if (!this.isOn) return;
    const now = this.clock.nowMs();
    const window = this.options.hotWindowMs;
    let misses = this.misses.get(dir);
    if (misses === undefined) {
      misses = { current: 0, previous: 0, windowStartMs: now, recentFound: 0, largeUntilMs: 0, listedNames: 0 };
      this.misses.set(dir, misses);
    }
    const elapsed = now - misses.windowStartMs;
    if (elapsed >= window) {
      misses.previous = elapsed < 2 * window ? misses.current : 0;
      misses.current = 0;
      misses.windowStartMs = now;
    }
    misses.current++;
    misses.recentFound = ((misses.recentFound << 1) | (found ? 1 : 0)) & ((1 << this.options.hotMisses) - 1);
  }

  /**
   * Whether the next lookup in `dir` that the caches cannot answer should
   * list the directory instead, and what to read: null unless it is hot, not
   * known to be large, and has no listing in flight and no valid listing
   * already (or only one without attributes while lookups keep finding names).
   */
  shouldList(dir: InodeId): ListingKind | null {
    if (!this.isOn || this.inFlight.has(dir)) return null;
    const misses = this.misses.get(dir);
    if (misses === undefined) return null;
    const now = this.clock.nowMs();
    if (now < misses.largeUntilMs) return null;
    const elapsed = now - misses.windowStartMs;
    const hot = this.options.hotMisses;
    const needed = Math.max(hot, Math.ceil(misses.listedNames / this.options.namesPerMiss));
    const isHot =
      elapsed < this.options.hotWindowMs ? misses.current >= needed || misses.previous >= needed : elapsed < 2 * this.options.hotWindowMs && misses.current >= needed;
    if (!isHot) return null;
    const kind: ListingKind = this.options.withAttrs && bitCount(misses.recentFound) * 2 >= hot ? 'names-and-attrs' : 'names';
    const listing = this.validListing(dir);
    if (listing === undefined) return kind;
    return kind === 'names-and-attrs' && !listing.hasAttrs ? kind : null;
  }

  /** Call right before the first ListDentry: the listing answers from this time on. */
  beginListing(dir: InodeId, kind: ListingKind): ListingTicket {
    assert(!this.inFlight.has(dir), 'one listing per directory at a time');
    this.inFlight.set(dir, { isChanged: false });
    return { dir, startMs: this.clock.nowMs(), kind };
  }

  /**
   * The listing's names (all of them), or null when the directory has more
   * than dirNamesMax. True when the listing was kept: no change of this
   * client in the directory overlapped it, so its names (and attributes)
   * may fill the caches.
   */
  finishListing(ticket: ListingTicket, names: Iterable<string> | null): boolean {
    const state = this.inFlight.get(ticket.dir);
    assert(state !== undefined, 'finishing a listing that was begun');
    this.inFlight.delete(ticket.dir);
    if (names === null) {
      const misses = this.misses.get(ticket.dir);
      if (misses !== undefined) misses.largeUntilMs = this.clock.nowMs() + LARGE_WINDOWS * this.options.hotWindowMs;
      return false;
    }
    if (state.isChanged) {
      this.listings.delete(ticket.dir);
      return false;
    }
    const set = new Set(names);
    assert(set.size <= this.options.dirNamesMax, 'a listing within its bound');
    const misses = this.misses.get(ticket.dir);
    if (misses !== undefined) misses.listedNames = set.size;
    // Counted from before the first page: every name absent from it was absent at some moment since.
    this.listings.set(ticket.dir, { names: set, expiresAtMs: ticket.startMs + this.options.ttlMs, hasAttrs: ticket.kind === 'names-and-attrs' });
    return true;
  }

  /** A listing failed: nothing learned. */
  abandonListing(ticket: ListingTicket): void {
    this.inFlight.delete(ticket.dir);
  }

  private changed(dir: InodeId): void {
    const state = this.inFlight.get(dir);
    if (state !== undefined) state.isChanged = true;
  }

  /** This client committed `name` into `dir` (create, link, rename target). */
  added(dir: InodeId, name: string): void {
    this.changed(dir);
    const listing = this.validListing(dir);
    if (listing === undefined || listing.names.has(name)) return;
    if (listing.names.size >= this.options.dirNamesMax) {
      this.listings.delete(dir);
      return;
    }
    listing.names.add(name);
    // Set again so the size budget counts the new name (keeps its expiry).
    this.listings.set(dir, listing);
  }

  /** This client removed `name` from `dir` (unlink, rmdir, rename source). */
  removed(dir: InodeId, name: string): void {
    this.changed(dir);
    this.validListing(dir)?.names.delete(name);
  }

  /** A change in `dir` whose outcome is unknown (it failed): whatever we knew may be wrong. */
  forget(dir: InodeId): void {
    this.changed(dir);
    this.listings.delete(dir);
  }

  clear(): void {
    this.listings.clear();
    this.misses.clear();
  }
}

function bitCount(bits: number): number {
  let count = 0;
  for (let rest = bits; rest !== 0; rest &= rest - 1) count++;
  return count;
}
