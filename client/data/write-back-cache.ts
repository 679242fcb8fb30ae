/**
 * Write-back disk cache (DESIGN §5): a flush writes its objects to the
 * staging directory, fsyncs them and the directory, then appends a journal
 * record and fsyncs it; only then is the flush acknowledged. A background
 * uploader PUTs the staged objects, commits the chunk info, and then marks
 * the record done. After a crash, open() returns every record not done, to
 * be uploaded and committed before new writes are acknowledged.
 * Order on disk: staged files are durable before the record that names them,
 * so a record that replays always finds whole files.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { JournalWriter, type StageRecord, type StagedPiece } from './write-back-journal.js';

/** Journal bytes after which an idle, empty journal is cut back to zero. */
const JOURNAL_RESET_BYTES = 1 << 20;

export interface StageRequest {
  readonly inodeId: number;
  readonly chunkIndex: number;
  readonly info: ChunkInfo;
  readonly newLength: number;
  readonly pieces: ReadonlyArray<{ readonly key: string; readonly data: Buffer }>;
}

export class WriteBackCache {
  private nextSeq: number;
  private stagedBytes = 0;
  /** stage() calls between their first write and their record being tracked. */
  private stagesInFlight = 0;
  /** seq → record, for everything staged and not done. */
  private readonly pending = new Map<number, StageRecord>();
  /** object key → staged file, for reads of staged data. */
  private readonly byKey = new Map<string, StagedPiece>();

  private constructor(
    private readonly stagingDir: string,
    private readonly journal: JournalWriter,
    private readonly limitBytes: number,
    firstSeq: number,
  ) {
    this.nextSeq = firstSeq;
  }

  /** Opens (or creates) the cache in dir; `replay` lists what must still be uploaded. */
  static async open(dir: string, limitBytes: number): Promise<{ cache: WriteBackCache; replay: StageRecord[] }> {
    const stagingDir = join(dir, 'staging');
    await mkdir(stagingDir, { recursive: true });
    const { writer, records } = await JournalWriter.open(join(dir, 'journal'));
    const staged = new Map<number, StageRecord>();
    let maxSeq = 0;
    for (const r of records) {
      maxSeq = Math.max(maxSeq, r.seq);
      if (r.t === 'stage') staged.set(r.seq, r);
      else staged.delete(r.seq);
    }
    const cache = new WriteBackCache(stagingDir, writer, limitBytes, maxSeq + 1);
    const named = new Set<string>();
    for (const r of staged.values()) {
      cache.track(r);
      for (const p of r.pieces) named.add(p.file);
    }
    // Files no live record names: a crash between staging and the journal
    // append (never acknowledged), or done records whose files remained.
    for (const f of await readdir(stagingDir)) if (!named.has(f)) await rm(join(stagingDir, f), { force: true });
    return { cache, replay: [...staged.values()].sort((a, b) => a.seq - b.seq) };
  }

  get bytesStaged(): number {
    return this.stagedBytes;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Whether `bytes` more fit under the size limit (else the caller uploads directly). */
  hasRoomFor(bytes: number): boolean {
    return this.stagedBytes + bytes <= this.limitBytes;
  }

  private track(r: StageRecord): void {
    this.pending.set(r.seq, r);
    for (const p of r.pieces) {
      this.byKey.set(p.key, p);
      this.stagedBytes += p.length;
    }
  }

  /** Stages a flush durably; resolves once it survives a crash. */
  async stage(req: StageRequest): Promise<StageRecord> {
    const seq = this.nextSeq++;
    const pieces: StagedPiece[] = req.pieces.map((p, i) => ({ key: p.key, file: `${seq}_${i}`, length: p.data.length }));
    this.stagesInFlight++;
    try {
      await Promise.all(req.pieces.map((p, i) => writeDurably(join(this.stagingDir, pieces[i]!.file), p.data)));
      await syncDir(this.stagingDir);
      const record: StageRecord = {
        t: 'stage',
        seq,
        inodeId: req.inodeId,
        chunkIndex: req.chunkIndex,
        info: req.info,
        newLength: req.newLength,
        pieces,
      };
      await this.journal.append([record]);
      this.track(record);
      return record;
    } catch (error) {
      await Promise.all(pieces.map((p) => rm(join(this.stagingDir, p.file), { force: true })));
      throw error;
    } finally {
      this.stagesInFlight--;
    }
  }

  /** The staged bytes of an object, or null when it is not (or no longer) staged. */
  async readStaged(key: string): Promise<Buffer | null> {
    const piece = this.byKey.get(key);
    if (piece === undefined) return null;
    try {
      const data = await readFile(join(this.stagingDir, piece.file));
      assert(data.length === piece.length, `staged object ${key} has the wrong length`);
      return data;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async readPiece(piece: StagedPiece): Promise<Buffer> {
    const data = await readFile(join(this.stagingDir, piece.file));
    assert(data.length === piece.length, `staged file ${piece.file} has the wrong length`);
    return data;
  }

  /**
   * Marks a record uploaded and committed: journal 'done' first, then the
   * staged files go (a crash between the two leaves files that open() removes).
   */
  async complete(seq: number): Promise<void> {
    const record = this.pending.get(seq);
    assert(record !== undefined, `complete of unknown staged record ${seq}`);
    await this.journal.append([{ t: 'done', seq }]);
    this.pending.delete(seq);
    for (const p of record.pieces) {
      if (this.byKey.get(p.key) === p) this.byKey.delete(p.key);
      this.stagedBytes -= p.length;
      await rm(join(this.stagingDir, p.file), { force: true });
    }
    // Nothing staged: every record so far is done and the journal can start over.
    // A stage() racing with this has not appended yet (it is tracked only
    // after its append), and its append queues behind the reset.
    if (this.pending.size === 0 && this.stagesInFlight === 0 && this.journal.bytes > JOURNAL_RESET_BYTES) await this.journal.reset();
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}

export async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
