/**
 * The embedded MDS store: the whole key space in one file, rewritten
 * atomically on every write (temp file + fsync + rename + directory fsync).
 * A kill -9 at any point leaves either the old or the new file, never a torn
 * one; a write is acknowledged only after the rename is durable.
 *
 * Why a full rewrite and not a log: MDS state is small (fs records, topology,
 * partitions, sessions: kilobytes to a few MiB) and written rarely (heartbeat
 * timestamps and session refreshes stay in memory), so simplicity wins. The
 * file carries a SHA-256 of its body so a damaged file is detected, not trusted.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../../src/common/assert.js';
import { ConfigError, CorruptionError } from '../../src/common/errors.js';
import type { Compare, KeyValue, MdsStore, StoreOp, TxnResult } from './mds-store.js';
import { TXN_OPS_MAX, VALUE_BYTES_MAX } from './mds-store.js';

const FILE_NAME = 'mds-store.json';
const TEMP_NAME = 'mds-store.json.tmp';
const MAGIC = 'CURVEFS-MDS-STORE-1';
const LOCK_NAME = 'mds-store.lock';

interface Entry {
  value: string;
  modRevision: number;
}

interface FileBody {
  revision: number;
  entries: Array<[string, string, number]>;
}

export class LocalFileStore implements MdsStore {
  private entries = new Map<string, Entry>();
  private revision = 0;
  /** Writes run one at a time, in call order. */
  private writeChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly dir: string) {}

  /**
   * Opens (or creates) the store in `dir`, recovering the last durable state.
   * One process at a time: a lock file names the owner's pid; a lock whose
   * process is gone (kill -9) is taken over.
   */
  static async open(dir: string): Promise<LocalFileStore> {
    await fs.promises.mkdir(dir, { recursive: true });
    await takeLock(path.join(dir, LOCK_NAME));
    const store = new LocalFileStore(dir);
    try {
      await store.load();
    } catch (e) {
      await fs.promises.rm(path.join(dir, LOCK_NAME), { force: true });
      throw e;
    }
    return store;
  }

  private async load(): Promise<void> {
    // A leftover temp file is a write that never got renamed: it was never acknowledged.
    await fs.promises.rm(path.join(this.dir, TEMP_NAME), { force: true });
    let text: string;
    try {
      text = await fs.promises.readFile(path.join(this.dir, FILE_NAME), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const newline = text.indexOf('\n');
    if (newline < 0) throw new CorruptionError(`${FILE_NAME}: no header line`);
    const [magic, digest] = text.slice(0, newline).split(' ');
    const body = text.slice(newline + 1);
    if (magic !== MAGIC) throw new CorruptionError(`${FILE_NAME}: bad magic ${JSON.stringify(magic)}`);
    if (sha256(body) !== digest) throw new CorruptionError(`${FILE_NAME}: checksum mismatch`);
    const parsed = JSON.parse(body) as FileBody;
    assert(Number.isSafeInteger(parsed.revision) && parsed.revision >= 0, 'stored revision');
    for (const [key, value, modRevision] of parsed.entries) {
      assert(modRevision > 0 && modRevision <= parsed.revision, `modRevision of ${key}`);
      this.entries.set(key, { value, modRevision });
    }
    this.revision = parsed.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const entry = this.entries.get(key);
    return entry ? { key, value: entry.value, modRevision: entry.modRevision } : undefined;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    this.assertOpen();
    const result: KeyValue[] = [];
    for (const [key, entry] of this.entries) {
      if (key.startsWith(prefix)) result.push({ key, value: entry.value, modRevision: entry.modRevision });
    }
    result.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return result;
  }

  async put(key: string, value: string): Promise<number> {
    const result = await this.txn([], [{ kind: 'put', key, value }]);
    assert(result.succeeded, 'an unconditional put succeeds');
    return result.revision;
  }

  async delete(key: string): Promise<void> {
    await this.txn([], [{ kind: 'delete', key }]);
  }

  txn(compares: readonly Compare[], ops: readonly StoreOp[]): Promise<TxnResult> {
    this.assertOpen();
    assert(ops.length <= TXN_OPS_MAX, `txn has ${ops.length} ops, max ${TXN_OPS_MAX}`);
    for (const op of ops) {
      if (op.kind === 'put') assert(op.value.length <= VALUE_BYTES_MAX, `value of ${op.key} too large`);
    }
    const run = this.writeChain.then(() => this.applyTxn(compares, ops));
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /** Runs with no other write in flight: compares, writes the new file, then commits to memory. */
  private async applyTxn(compares: readonly Compare[], ops: readonly StoreOp[]): Promise<TxnResult> {
    for (const compare of compares) {
      const current = this.entries.get(compare.key)?.modRevision ?? 0;
      if (current !== compare.modRevision) return { succeeded: false, revision: this.revision };
    }
    if (ops.length === 0) return { succeeded: true, revision: this.revision };
    const nextRevision = this.revision + 1;
    const next = new Map(this.entries);
    for (const op of ops) {
      if (op.kind === 'put') next.set(op.key, { value: op.value, modRevision: nextRevision });
      else next.delete(op.key);
    }
    await this.writeFile(next, nextRevision);
    // Memory changes only after the file is durable: a failed write leaves the old state.
    this.entries = next;
    this.revision = nextRevision;
    return { succeeded: true, revision: nextRevision };
  }

  private async writeFile(entries: Map<string, Entry>, revision: number): Promise<void> {
    const body: FileBody = { revision, entries: [] };
    for (const [key, entry] of entries) body.entries.push([key, entry.value, entry.modRevision]);
    const bodyText = JSON.stringify(body);
    const text = `${MAGIC} ${sha256(bodyText)}\n${bodyText}`;
    const tempPath = path.join(this.dir, TEMP_NAME);
    const handle = await fs.promises.open(tempPath, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tempPath, path.join(this.dir, FILE_NAME));
    // The rename is durable only once the directory entry is.
    const dirHandle = await fs.promises.open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeChain;
    this.closed = true;
    await fs.promises.rm(path.join(this.dir, LOCK_NAME), { force: true });
  }

  private assertOpen(): void {
    assert(!this.closed, 'LocalFileStore used after close');
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.promises.writeFile(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(await fs.promises.readFile(lockPath, 'utf8').catch(() => ''));
    if (Number.isSafeInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new ConfigError('data', `${path.dirname(lockPath)} is in use by MDS process ${owner}`);
    }
    // The owner died without closing (kill -9): the lock is stale.
    await fs.promises.rm(lockPath, { force: true });
  }
  throw new ConfigError('data', `cannot lock ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
