/**
 * A small growable byte writer and a bounds-checked reader for the snapshot
 * format: unsigned varints (LEB128, any safe integer), zigzag varints for
 * signed values, length-prefixed UTF-8 strings and byte strings. A reader
 * that runs past its input throws CorruptionError, never reads garbage.
 */
import { Buffer } from 'node:buffer';
import { assert } from '../../src/common/assert.js';
import { CorruptionError } from '../../src/common/errors.js';

export class ByteWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  get byteLength(): number {
    return this.length;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  uint(n: number): void {
    assert(Number.isSafeInteger(n) && n >= 0, `varint is a safe unsigned integer: ${n}`);
    this.reserve(8);
    while (n >= 0x80) {
      this.buffer[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buffer[this.length++] = n;
  }

  int(n: number): void {
    assert(Number.isSafeInteger(n), `zigzag value is a safe integer: ${n}`);
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  bool(b: boolean): void {
    this.uint(b ? 1 : 0);
  }

  bytes(b: Uint8Array): void {
    this.uint(b.byteLength);
    this.reserve(b.byteLength);
    this.buffer.set(b, this.length);
    this.length += b.byteLength;
  }

  string(s: string): void {
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint(bytes);
    this.reserve(bytes);
    this.length += this.buffer.write(s, this.length, 'utf8');
  }

  /** Appends bytes without a length prefix (framing). */
  raw(b: Uint8Array): void {
    this.reserve(b.byteLength);
    this.buffer.set(b, this.length);
    this.length += b.byteLength;
  }

  /** The bytes written so far (a copy; the writer is reset). */
  take(): Uint8Array {
    const out = new Uint8Array(this.buffer.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

export class ByteReader {
  private offset = 0;
  private readonly buffer: Buffer;

  constructor(bytes: Uint8Array) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.buffer.length) throw new CorruptionError('snapshot: varint runs past the end');
      const byte = this.buffer[this.offset++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) throw new CorruptionError('snapshot: varint is not a safe integer');
        return result;
      }
      scale *= 0x80;
    }
    throw new CorruptionError('snapshot: varint longer than 8 bytes');
  }

  /** An element count: each element takes at least one byte, so a count beyond the input is corrupt. */
  count(): number {
    const n = this.uint();
    if (n > this.remaining) throw new CorruptionError('snapshot: count exceeds the remaining bytes');
    return n;
  }

  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bool(): boolean {
    const v = this.uint();
    if (v > 1) throw new CorruptionError('snapshot: bad boolean');
    return v === 1;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.remaining) throw new CorruptionError('snapshot: byte string runs past the end');
    const out = new Uint8Array(this.buffer.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  string(): string {
    const n = this.uint();
    if (n > this.remaining) throw new CorruptionError('snapshot: string runs past the end');
    const s = this.buffer.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}
