/**
 * The durable journal of the write-back disk cache: what is staged on local
 * disk and still has to be uploaded and recorded in metadata. One record per
 * line, `<crc32 hex8> <json>\n`; a record counts only once its line is whole
 * and its CRC matches, so a crash in the middle of an append leaves a torn
 * tail that replay drops (that flush was never acknowledged).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';

export interface StagedPiece {
  readonly key: string;
  /** File name inside the staging directory. */
  readonly file: string;
  readonly length: number;
}

export interface StageRecord {
  readonly t: 'stage';
  readonly seq: number;
  readonly inodeId: number;
  readonly chunkIndex: number;
  readonly info: ChunkInfo;
  readonly newLength: number;
  readonly pieces: readonly StagedPiece[];
}

export interface DoneRecord {
  readonly t: 'done';
  readonly seq: number;
}

export type JournalRecord = StageRecord | DoneRecord;

export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  assert(!json.includes('\n'), 'journal json is one line');
  return `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Parses the valid prefix of a journal; returns the records and the byte length of that prefix. */
export function decodeJournal(text: string): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    const line = text.slice(pos, nl);
    const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
    if (m === null || parseInt(m[1]!, 16) !== crc32(m[2]!) >>> 0) break;
    let rec: JournalRecord;
    try {
      rec = JSON.parse(m[2]!) as JournalRecord;
    } catch {
      break;
    }
    records.push(rec);
    pos = nl + 1;
  }
  return { records, validBytes: Buffer.byteLength(text.slice(0, pos)) };
}

/**
 * Appends records durably (write + fsync). Appends that arrive while one is
 * being written are grouped into the next write: one fsync for many flushes.
 */
export class JournalWriter {
  /** line null: empty the journal (ordered with the appends around it). */
  private queue: Array<{ line: string | null; resolve: () => void; reject: (e: Error) => void }> = [];
  private writing = false;

  private constructor(
    private readonly handle: FileHandle,
    private sizeBytes: number,
  ) {}

  /** Opens the journal at path, cutting any torn tail; returns the valid records. */
  static async open(path: string): Promise<{ writer: JournalWriter; records: JournalRecord[] }> {
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const { records, validBytes } = decodeJournal(text);
    const handle = await open(path, 'a+');
    if (validBytes < Buffer.byteLength(text)) {
      await handle.truncate(validBytes);
      await handle.sync();
    }
    return { writer: new JournalWriter(handle, validBytes), records };
  }

  get bytes(): number {
    return this.sizeBytes;
  }

  append(records: readonly JournalRecord[]): Promise<void> {
    const line = records.map(encodeRecord).join('');
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const resetAt = this.queue.findIndex((b) => b.line === null);
      const batch = resetAt === 0 ? this.queue.splice(0, 1) : this.queue.splice(0, resetAt < 0 ? this.queue.length : resetAt);
      try {
        if (batch[0]!.line === null) {
          await this.handle.truncate(0);
          await this.handle.sync();
          this.sizeBytes = 0;
        } else {
          const data = Buffer.from(batch.map((b) => b.line).join(''));
          await this.handle.appendFile(data);
          await this.handle.sync();
          this.sizeBytes += data.length;
        }
        for (const b of batch) b.resolve();
      } catch (error) {
        for (const b of batch) b.reject(error as Error);
      }
    }
    this.writing = false;
  }

  /**
   * Empties the journal, in order with the appends around it. The caller
   * guarantees that no record written before this call is still needed.
   */
  reset(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: null, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
