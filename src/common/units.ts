/**
 * Parsing of human-friendly sizes ("4MiB", "64M", "1g", "4096") and
 * durations ("5s", "100ms", "2m", "1h"). Pure; throws RangeError with the
 * offending text so config errors can name it.
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) throw new RangeError(`not a size: "${text}" (e.g. 4096, 64KiB, 4MiB, 1GiB)`);
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) throw new RangeError(`unknown size unit in "${text}"`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`size "${text}" is not a whole number of bytes`);
  return bytes;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration in milliseconds; a bare number means milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new RangeError(`not a duration: "${text}" (e.g. 100ms, 5s, 2m)`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms']!;
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration "${text}" is out of range`);
  return Math.round(ms);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value % 1 === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
