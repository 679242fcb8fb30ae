/**
 * The client's metadata cache (DESIGN §6): inode attributes and dentries,
 * including negative dentries (a name known not to exist), each with a short
 * TTL and an entry budget. The VFS drops what its own changes touch, and
 * drops an inode's attributes on open (close-to-open); other clients' changes
 * are seen once the TTL runs out. The kernel's attr/entry timeouts are set to
 * the same TTLs (client/fuse) so both layers age together.
 *
 * Time comes from the injected clock (lru-cache's `perf` hook), so tests can
 * age entries without sleeping.
 */
import { LRUCache } from 'lru-cache';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import type { FileType, InodeAttr, InodeId, XattrSnapshot } from './meta-api.js';

export interface MetaCacheOptions {
  readonly clock: Clock;
  readonly attrTtlMs: number;
  readonly entryTtlMs: number;
  readonly negativeEntryTtlMs: number;
  readonly attrEntriesMax: number;
  readonly dentryEntriesMax: number;
}

export const META_CACHE_DEFAULTS = {
  attrTtlMs: 1_000,
  entryTtlMs: 1_000,
  negativeEntryTtlMs: 1_000,
  attrEntriesMax: 100_000,
  dentryEntriesMax: 100_000,
} as const;

/** A cached name → inode mapping; `inodeId` 0 marks a negative entry. */
export interface CachedDentry {
  readonly inodeId: InodeId;
  readonly type: FileType | 0;
}

const NEGATIVE: CachedDentry = Object.freeze({ inodeId: 0, type: 0 });

function dentryKey(parent: InodeId, name: string): string {
  return `${parent}/${name}`;
}

export class MetaCache {
  private readonly attrs: LRUCache<InodeId, InodeAttr>;
  /** Extended attributes age like attributes: `ls -l` asks for security.* of every entry. */
  private readonly xattrs: LRUCache<InodeId, XattrSnapshot>;
  private readonly dentries: LRUCache<string, CachedDentry>;
  private readonly negativeEntryTtlMs: number;

  constructor(options: MetaCacheOptions) {
    assert(options.attrTtlMs >= 0 && options.entryTtlMs >= 0 && options.negativeEntryTtlMs >= 0, 'cache TTLs');
    assert(options.attrEntriesMax > 0 && options.dentryEntriesMax > 0, 'cache budgets');
    // +1: lru-cache reads a start time of 0 as "no TTL", and a manual clock starts at 0.
    const perf = { now: () => options.clock.nowMs() + 1 };
    // Bounded by entry count through maxSize (each entry weighs 1), not `max`:
    // with `max` lru-cache preallocates arrays of that length and wipes them
    // all whenever its last entry is deleted (0.4 ms at 100,000), which our
    // small caches (xattrs) hit on every invalidation.
    const bounded = (entriesMax: number, ttlMs: number) => ({
      maxSize: entriesMax,
      sizeCalculation: () => 1,
      ttl: Math.max(1, ttlMs),
      perf,
      ttlAutopurge: false,
      ttlResolution: 0,
    });
    // A TTL of 0 disables caching of that kind: every lookup goes to the metaserver.
    this.attrs = new LRUCache<InodeId, InodeAttr>(bounded(options.attrEntriesMax, options.attrTtlMs));
    this.xattrs = new LRUCache<InodeId, XattrSnapshot>(bounded(options.attrEntriesMax, options.attrTtlMs));
    this.dentries = new LRUCache<string, CachedDentry>(bounded(options.dentryEntriesMax, options.entryTtlMs));
    this.isAttrCacheOn = options.attrTtlMs > 0;
    this.isEntryCacheOn = options.entryTtlMs > 0;
    this.negativeEntryTtlMs = options.negativeEntryTtlMs;
  }

  private readonly isAttrCacheOn: boolean;
  private readonly isEntryCacheOn: boolean;
  /** Open fences: each collects the inodes whose cached attributes this client changed or dropped meanwhile. */
  private readonly fences = new Set<Set<InodeId>>();

  /**
   * Starts recording the inodes whose attributes or xattrs this client
   * patches or drops (its own changes) until `closeFence`, so what is read
   * in bulk meanwhile (a listing's statahead) does not overwrite a newer own
   * change: `setAttrUnlessChanged` and `setXattrsUnlessChanged` skip those inodes.
   */
  openFence(): Set<InodeId> {
    const fence = new Set<InodeId>();
    this.fences.add(fence);
    return fence;
  }

  closeFence(fence: Set<InodeId>): void {
    this.fences.delete(fence);
  }

  setAttrUnlessChanged(fence: Set<InodeId>, attr: InodeAttr): void {
    if (!fence.has(attr.inodeId)) this.setAttr(attr);
  }

  setXattrsUnlessChanged(fence: Set<InodeId>, inodeId: InodeId, snapshot: XattrSnapshot): void {
    if (!fence.has(inodeId)) this.setXattrs(inodeId, snapshot);
  }

  private noteChanged(inodeId: InodeId): void {
    for (const fence of this.fences) fence.add(inodeId);
  }

  getAttr(inodeId: InodeId): InodeAttr | undefined {
    return this.attrs.get(inodeId);
  }

  setAttr(attr: InodeAttr): void {
    if (!this.isAttrCacheOn) return;
    this.attrs.set(attr.inodeId, attr);
  }

  /**
   * Replaces a cached attribute with a locally derived one (our own change,
   * whose effect we know) WITHOUT restarting its TTL, so other clients'
   * changes still show once the original copy would have expired. A patch
   * that answers null (the change cannot be derived) drops the copy.
   */
  patchAttr(inodeId: InodeId, patch: (attr: InodeAttr) => InodeAttr | null): void {
    this.noteChanged(inodeId);
    const cached = this.attrs.get(inodeId);
    if (cached === undefined) return;
    const patched = patch(cached);
    if (patched === null) {
      this.attrs.delete(inodeId);
      return;
    }
    assert(patched.inodeId === inodeId, 'a patch keeps the inode');
    this.attrs.set(inodeId, patched, { noUpdateTTL: true });
  }

  dropAttr(inodeId: InodeId): void {
    this.noteChanged(inodeId);
    this.attrs.delete(inodeId);
  }

  getXattrs(inodeId: InodeId): XattrSnapshot | undefined {
    return this.xattrs.get(inodeId);
  }

  setXattrs(inodeId: InodeId, snapshot: XattrSnapshot): void {
    if (!this.isAttrCacheOn) return;
    this.xattrs.set(inodeId, snapshot);
  }

  dropXattrs(inodeId: InodeId): void {
    this.noteChanged(inodeId);
    this.xattrs.delete(inodeId);
  }

  /** undefined: unknown; inodeId 0: known not to exist. */
  getDentry(parent: InodeId, name: string): CachedDentry | undefined {
    return this.dentries.get(dentryKey(parent, name));
  }

  setDentry(parent: InodeId, name: string, inodeId: InodeId, type: FileType): void {
    assert(inodeId > 0, 'a positive dentry names an inode');
    if (!this.isEntryCacheOn) return;
    this.dentries.set(dentryKey(parent, name), { inodeId, type });
  }

  setNegative(parent: InodeId, name: string): void {
    if (this.negativeEntryTtlMs === 0) return;
    this.dentries.set(dentryKey(parent, name), NEGATIVE, { ttl: this.negativeEntryTtlMs });
  }

  dropDentry(parent: InodeId, name: string): void {
    this.dentries.delete(dentryKey(parent, name));
  }

  clear(): void {
    this.attrs.clear();
    this.xattrs.clear();
    this.dentries.clear();
  }

  get sizes(): { attrs: number; dentries: number } {
    return { attrs: this.attrs.size, dentries: this.dentries.size };
  }
}
