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
    // Captured synchronously (the StateMachine contract), streamed lazily.
    const image = encoder.encode(JSON.stringify({ index: meta.index, entries: [...this.data.entries()] }));
    return (async function* () {
      for (let at = 0; at < image.length; at += 64 * 1024) yield image.subarray(at, Math.min(image.length, at + 64 * 1024));
    })();
  }

  async restore(chunks: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) parts.push(c);
    const parsed = JSON.parse(decoder.decode(Buffer.concat(parts))) as {
      index: number;
      entries: [string, { value: string; version: number }][];
    };
    if (parsed.index !== meta.index) throw new Error(`kv: snapshot image at ${parsed.index}, meta says ${meta.index}`);
    this.data.clear();
    for (const [k, v] of parsed.entries) this.data.set(k, v);
    this.appliedIndex = meta.index;
  }
}
