/**
 * A small key-value state machine for Raft tests and the benchmark.
 * Commands: "put <key> <value>" returns the new version of the key (a
 * per-key counter, so a lost or duplicated apply is visible); "noop" bytes
 * of any other form return 0. Snapshots are JSON, streamed in chunks.
 */
import type { Entry, SnapshotMeta } from '../../src/raft/core/types.js';
import type { StateMachine } from '../../src/raft/node/state-machine.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function putCommand(key: string, value: string): Uint8Array {
  return encoder.encode(`put ${key} ${value}`);
}

export class KvStateMachine implements StateMachine<number> {
  readonly data = new Map<string, { value: string; version: number }>();
  appliedIndex = 0;
  appliedCount = 0;

  apply(entries: readonly Entry[]): number[] {
    const out: number[] = [];
    for (const e of entries) {
      if (e.index <= this.appliedIndex) throw new Error(`kv: entry ${e.index} applied twice (applied ${this.appliedIndex})`);
      this.appliedIndex = e.index;
      this.appliedCount++;
      const text = decoder.decode(e.data);
      if (!text.startsWith('put ')) {
        out.push(0);
        continue;
      }
      const space = text.indexOf(' ', 4);
      const key = text.slice(4, space);
      const value = text.slice(space + 1);
      const version = (this.data.get(key)?.version ?? 0) + 1;
      this.data.set(key, { value, version });
      out.push(version);
    }
    return out;
  }

  get(key: string): string | undefined {
    return this.data.get(key)?.value;
  }

  snapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    // Captured synchronously (the StateMachine contract) as a shallow copy;
    // serialised lazily, a slice at a time, so a large map never blocks the
    // event loop for long. Format: one JSON line per entry after a header line.
    const captured = [...this.data.entries()];
    return (async function* () {
      yield encoder.encode(JSON.stringify({ index: meta.index, count: captured.length }) + '\n');
      for (let at = 0; at < captured.length; at += 2000) {
        let text = '';
        for (const entry of captured.slice(at, at + 2000)) text += JSON.stringify(entry) + '\n';
        yield encoder.encode(text);
      }
    })();
  }

  async restore(chunks: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) parts.push(c);
    const lines = decoder.decode(Buffer.concat(parts)).split('\n').filter((l) => l !== '');
    const header = JSON.parse(lines[0]!) as { index: number; count: number };
    if (header.index !== meta.index) throw new Error(`kv: snapshot image at ${header.index}, meta says ${meta.index}`);
    if (header.count !== lines.length - 1) throw new Error(`kv: snapshot holds ${lines.length - 1} entries, header says ${header.count}`);
    this.data.clear();
    for (const line of lines.slice(1)) {
      const [k, v] = JSON.parse(line) as [string, { value: string; version: number }];
      this.data.set(k, v);
    }
    this.appliedIndex = meta.index;
  }
}
