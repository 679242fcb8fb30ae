/**
 * uint64 fields decode as JS numbers (ids, offsets, lengths). A number above
 * 2^53 would silently lose precision, so every decoded message is checked
 * here at the edge: an integer-valued number that is not a safe integer makes
 * the message malformed. The walk is bounded in depth (protobuf messages we
 * define nest a handful of levels).
 */

const DEPTH_MAX = 32;

/** The path of the first unsafe integer in a decoded message, or null when all are safe. */
export function findUnsafeInteger(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'number') {
    return Number.isInteger(value) && !Number.isSafeInteger(value) ? path || '<root>' : null;
  }
  if (typeof value !== 'object' || value === null) return null;
  if (depth >= DEPTH_MAX) return `${path}<too deep>`;
  if (ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeInteger(value[i], `${path}[${i}]`, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const found = findUnsafeInteger((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
