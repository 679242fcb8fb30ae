/**
 * A linearizability checker for key-value histories (Wing & Gong's search
 * with Lowe's just-in-time linearization and memoization, as in Porcupine).
 *
 * A history is a set of operations with call and return times; an operation
 * whose outcome is unknown (the client timed out) has return = Infinity: it
 * may have taken effect at any point after its call, or never.
 *
 * The search tries to order the operations so that each takes effect
 * between its call and return and the sequence is legal for the model. It
 * keeps the operations as a list of call/return events; linearizing an
 * operation "lifts" its events out of the list; reaching a return event whose
 * call is still in the list means a dead end, so it backtracks. The cache of
 * (set of linearized operations, model state) pairs already explored prunes
 * repeated work, which is what keeps it fast. Operations on different keys
 * are independent (P-compositionality), so each key is checked on its own.
 */
import { assert } from '../../src/common/assert.js';

export type KvOpKind = 'put' | 'append' | 'get';

export interface KvOperation {
  readonly client: number;
  readonly kind: KvOpKind;
  readonly key: string;
  /** The value written (put/append) or read (get). */
  readonly value: string;
  readonly call: number;
  /** Infinity if the outcome is unknown (writes only). */
  readonly ret: number;
}

export interface CheckResult {
  readonly ok: boolean;
  /** The key whose history is not linearizable. */
  readonly badKey?: string;
  /** Search steps taken (for bounding cost in tests). */
  readonly steps: number;
  /** True if the search was cut off by the step budget (result unknown, reported as ok=false). */
  readonly exhausted: boolean;
}

/** Model: the state is the key's value; put replaces, append concatenates, get must see the state. */
function stepModel(state: string, op: KvOperation): string | undefined {
  switch (op.kind) {
    case 'put':
      return op.value;
    case 'append':
      return state + op.value;
    case 'get':
      return op.value === state ? state : undefined;
  }
}

interface Event {
  readonly isCall: boolean;
  readonly op: number;
  readonly time: number;
  prev: Event | null;
  next: Event | null;
  /** For a call: its return event. */
  match: Event | null;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

export function checkKvHistory(ops: readonly KvOperation[], stepBudget = 5_000_000): CheckResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of ops) {
    assert(op.ret > op.call, 'linearizability: an operation must return after its call');
    assert(op.kind !== 'get' || op.ret !== Number.POSITIVE_INFINITY, 'linearizability: unfinished reads must be dropped');
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  let steps = 0;
  for (const key of [...byKey.keys()].sort()) {
    const r = checkOneKey(pruneUnobservedUnknowns(byKey.get(key)!), stepBudget - steps);
    steps += r.steps;
    if (!r.ok) return { ok: false, badKey: key, steps, exhausted: r.exhausted };
  }
  return { ok: true, steps, exhausted: false };
}

/**
 * A write whose outcome is unknown and whose value no read ever contains
 * can be dropped: if the history is linearizable with it, it is without it
 * (nothing observed its effect: a put must have been overwritten before any
 * read, an append must come after every read), and conversely an unknown
 * write can always be placed after everything. This removes most of the
 * search's branching on timed-out writes.
 */
function pruneUnobservedUnknowns(ops: readonly KvOperation[]): KvOperation[] {
  const reads = ops.filter((o) => o.kind === 'get').map((o) => o.value);
  return ops.filter((o) => o.kind === 'get' || o.ret !== Number.POSITIVE_INFINITY || reads.some((v) => v.includes(o.value)));
}

function checkOneKey(ops: readonly KvOperation[], budget: number): { ok: boolean; steps: number; exhausted: boolean } {
  const n = ops.length;
  // Build the event list sorted by time; at equal times calls come first
  // (two operations touching the same instant are treated as concurrent).
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    const call: Event = { isCall: true, op: i, time: ops[i]!.call, prev: null, next: null, match: null };
    const ret: Event = { isCall: false, op: i, time: ops[i]!.ret, prev: null, next: null, match: null };
    call.match = ret;
    events.push(call, ret);
  }
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Event = { isCall: false, op: -1, time: -1, prev: null, next: null, match: null };
  let tail = head;
  for (const e of events) {
    tail.next = e;
    e.prev = tail;
    tail = e;
  }

  const lift = (call: Event): void => {
    call.prev!.next = call.next;
    if (call.next !== null) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next !== null) ret.next.prev = ret.prev;
  };
  const unlift = (call: Event): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next !== null) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next !== null) call.next.prev = call;
  };

  const linearized = new Bitset(n);
  const cache = new Set<string>();
  const stack: Array<{ call: Event; state: string }> = [];
  let state = '';
  let entry: Event | null = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > budget) return { ok: false, steps, exhausted: true };
    assert(entry !== null, 'linearizability: ran off the event list');
    if (entry.isCall) {
      const next = stepModel(state, ops[entry.op]!);
      if (next !== undefined) {
        linearized.set(entry.op);
        const key = `${linearized.key()}|${next}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.op);
      }
      entry = entry.next;
    } else {
      // A return whose call is not linearized yet: backtrack.
      const top = stack.pop();
      if (top === undefined) return { ok: false, steps, exhausted: false };
      state = top.state;
      linearized.clear(top.call.op);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true, steps, exhausted: false };
}
