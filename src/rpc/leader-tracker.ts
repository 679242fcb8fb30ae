/**
 * Client-side address book for one replicated service (the MDS cluster, or
 * one copyset's metaservers): which address to try next. Success pins the
 * leader; a redirect hint moves to (and if new, learns) the hinted address;
 * a failure moves to the next known address in order. Shared by all calls of
 * one RpcClient; no I/O.
 */
import { assert } from '../common/assert.js';
import { isAddress } from './leader-redirect.js';

/** Learned addresses beyond the configured ones are bounded (hints come from the network). */
const LEARNED_ADDRESSES_MAX = 64;

export class LeaderTracker {
  private addresses: string[];
  private currentIndex = 0;

  constructor(addresses: readonly string[]) {
    this.addresses = [];
    this.setAddresses(addresses);
  }

  /** Replaces the known set (e.g. after topology changed); keeps the current leader if still present. */
  setAddresses(addresses: readonly string[]): void {
    assert(addresses.length > 0, 'at least one address is needed');
    for (const address of addresses) assert(isAddress(address), `not a host:port address: ${address}`);
    const current = this.addresses[this.currentIndex];
    this.addresses = [...new Set(addresses)];
    const index = current === undefined ? -1 : this.addresses.indexOf(current);
    this.currentIndex = index >= 0 ? index : 0;
  }

  known(): readonly string[] {
    return this.addresses;
  }

  current(): string {
    const address = this.addresses[this.currentIndex];
    assert(address !== undefined, 'tracker has no address');
    return address;
  }

  /** Moves to `address`, learning it if unknown. Returns true when that changed the current address. */
  follow(address: string): boolean {
    assert(isAddress(address), `not a host:port address: ${address}`);
    let index = this.addresses.indexOf(address);
    if (index < 0) {
      if (this.addresses.length >= LEARNED_ADDRESSES_MAX) return false;
      this.addresses.push(address);
      index = this.addresses.length - 1;
    }
    const changed = index !== this.currentIndex;
    this.currentIndex = index;
    return changed;
  }

  /** `address` failed: move past it, unless another call already moved on. */
  failed(address: string): void {
    if (this.current() !== address) return;
    this.currentIndex = (this.currentIndex + 1) % this.addresses.length;
  }

  /** `address` answered: it is (or serves as) the leader. */
  succeeded(address: string): void {
    const index = this.addresses.indexOf(address);
    if (index >= 0) this.currentIndex = index;
  }
}
