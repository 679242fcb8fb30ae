/**
 * A deterministic key-value state machine for the simulator, with client
 * sessions so that a command delivered twice (a duplicated MsgProp, a
 * client retry) takes effect at most once: each client's commands carry
 * increasing sequence numbers and the machine ignores any sequence at or
 * below the last one it applied for that client.
 */
import { assert } from '../../src/common/assert.js';

export type KvCommand =
  | { readonly op: 'put'; readonly client: number; readonly seq: number; readonly key: string; readonly value: string }
  | { readonly op: 'append'; readonly client: number; readonly seq: number; readonly key: string; readonly value: string }
  | { readonly op: 'marker'; readonly client: number; readonly seq: number; readonly key: string; readonly value: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

export function decodeKvCommand(b: Uint8Array): KvCommand {
  const c = JSON.parse(decoder.decode(b)) as KvCommand;
  assert(typeof c.client === 'number' && typeof c.seq === 'number', 'kv: malformed command');
  return c;
}

export class KvStateMachine {
  readonly data = new Map<string, string>();
  /** client -> last applied sequence number. */
  readonly sessions = new Map<number, number>();
  appliedIndex = 0;

  /** Applies a committed command; returns whether it took effect (false for a duplicate). */
  apply(index: number, c: KvCommand): boolean {
    assert(index > this.appliedIndex, `kv: apply ${index} after ${this.appliedIndex}`);
    this.appliedIndex = index;
    const last = this.sessions.get(c.client) ?? 0;
    if (c.seq <= last) return false;
    this.sessions.set(c.client, c.seq);
    if (c.op === 'put') this.data.set(c.key, c.value);
    else if (c.op === 'append') this.data.set(c.key, (this.data.get(c.key) ?? '') + c.value);
    return true;
  }

  /** Entries without a command (leader no-ops, conf changes) still advance the applied index. */
  skip(index: number): void {
    assert(index > this.appliedIndex, `kv: skip ${index} after ${this.appliedIndex}`);
    this.appliedIndex = index;
  }

  get(key: string): string {
    return this.data.get(key) ?? '';
  }

  snapshot(): Uint8Array {
    return encoder.encode(
      JSON.stringify({ i: this.appliedIndex, d: [...this.data].sort(), s: [...this.sessions].sort((a, b) => a[0] - b[0]) }),
    );
  }

  static restore(b: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (b.byteLength === 0) return sm;
    const o = JSON.parse(decoder.decode(b)) as { i: number; d: [string, string][]; s: [number, number][] };
    sm.appliedIndex = o.i;
    for (const [k, v] of o.d) sm.data.set(k, v);
    for (const [c, s] of o.s) sm.sessions.set(c, s);
    return sm;
  }
}
