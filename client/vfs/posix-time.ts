/**
 * Timestamps: conversion between milliseconds and Timespec, and the atime
 * rules of the mount's atime mode: noatime (reads never write atime),
 * relatime (as Linux mounts by default: update atime on access only if it is
 * not newer than mtime or ctime, or older than a day), strictatime (every
 * first read of an open). Which operation
 * touches which time is written where the VFS performs it, following POSIX:
 * data change → mtime+ctime; attribute change → ctime; entry added/removed →
 * the directory's mtime+ctime (done by the metaserver in the same apply).
 */
import { assert } from '../../src/common/assert.js';
import type { Timespec } from './meta-api.js';

export const RELATIME_WINDOW_SEC = 24 * 60 * 60;

export function timespecFromMs(ms: number): Timespec {
  assert(Number.isFinite(ms) && ms >= 0, `time ${ms}`);
  const sec = Math.floor(ms / 1000);
  const nsec = Math.round((ms - sec * 1000) * 1e6);
  // Rounding 999.9999995 ms up must carry into the seconds.
  return nsec >= 1e9 ? { sec: sec + 1, nsec: nsec - 1e9 } : { sec, nsec };
}

export function timespecToMs(t: Timespec): number {
  return t.sec * 1000 + Math.floor(t.nsec / 1e6);
}

export function compareTimespec(a: Timespec, b: Timespec): number {
  if (a.sec !== b.sec) return a.sec < b.sec ? -1 : 1;
  if (a.nsec !== b.nsec) return a.nsec < b.nsec ? -1 : 1;
  return 0;
}

/** When a read records the access time. */
export type AtimeMode = 'noatime' | 'relatime' | 'strictatime';
export const ATIME_MODES: readonly AtimeMode[] = ['noatime', 'relatime', 'strictatime'];

/** Should a read at `now` record a new atime under `mode`? */
export function shouldUpdateAtime(mode: AtimeMode, times: { atime: Timespec; mtime: Timespec; ctime: Timespec }, now: Timespec): boolean {
  if (mode === 'noatime') return false;
  if (mode === 'strictatime') return true;
  if (compareTimespec(times.atime, times.mtime) <= 0) return true;
  if (compareTimespec(times.atime, times.ctime) <= 0) return true;
  return now.sec - times.atime.sec >= RELATIME_WINDOW_SEC;
}

/** A requested time in utimens: a value, "now", or "leave unchanged". */
export type TimeSetting = { readonly kind: 'now' } | { readonly kind: 'omit' } | { readonly kind: 'set'; readonly time: Timespec };

export const TIME_NOW: TimeSetting = { kind: 'now' };
export const TIME_OMIT: TimeSetting = { kind: 'omit' };

/**
 * What utimensat asks of its caller (POSIX, and Linux setattr_prepare):
 * both times "now" (or times NULL, as touch does) needs ownership or write
 * permission; both "omit" changes nothing and needs nothing; any other mix,
 * even "now" with "omit" (touch -a, touch -m), needs ownership.
 */
export type TimesPermission = 'none' | 'owner-or-write' | 'owner';

export function utimensPermission(atime: TimeSetting, mtime: TimeSetting): TimesPermission {
  if (atime.kind === 'omit' && mtime.kind === 'omit') return 'none';
  if (atime.kind === 'now' && mtime.kind === 'now') return 'owner-or-write';
  return 'owner';
}

/** The time to store for a setting, or undefined to leave it. */
export function resolveTimeSetting(setting: TimeSetting, now: Timespec): Timespec | undefined {
  switch (setting.kind) {
    case 'now':
      return now;
    case 'omit':
      return undefined;
    case 'set':
      return setting.time;
  }
}
