/**
 * A small synchronous harness for unit tests (etcd's raft_test.go `network`):
 * RawNodes over MemoryStorage, messages delivered in FIFO order with hooks
 * to drop, isolate or cut links. No faults besides the ones a test asks for.
 */
import { SeededRandom } from '../../src/common/random.js';
import { decodeConfChange } from '../../src/raft/core/codec.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { describeMessage, type Message, MessageType } from '../../src/raft/core/messages.js';
import type { RaftConfig } from '../../src/raft/core/raft.js';
import { RawNode } from '../../src/raft/core/raw-node.js';
import { type ConfState, type Entry, EntryType, type NodeId, type ReadState, StateType } from '../../src/raft/core/types.js';

export interface TestPeer {
  readonly id: NodeId;
  node: RawNode;
  readonly storage: MemoryStorage;
  /** Every entry applied, in order (conf changes included). */
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  confState: ConfState;
}

export type TestConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export class TestNetwork {
  readonly peers = new Map<NodeId, TestPeer>();
  /** Messages waiting to be delivered. */
  queue: Message[] = [];
  /** Links that drop everything: "a->b". */
  private readonly cuts = new Set<string>();
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;
  readonly trace: string[] = [];
  /** Record a trace line per message (off for benchmarks). */
  traceEnabled = true;

  constructor(
    ids: readonly NodeId[],
    private readonly overrides: TestConfigOverrides = {},
    seed = 1,
  ) {
    for (const [i, id] of ids.entries()) {
      const storage = MemoryStorage.bootstrap({ voters: [...ids], votersOutgoing: [], learners: [] }, new Uint8Array(0));
      this.addPeer(id, storage, seed + i);
    }
  }

  addPeer(id: NodeId, storage: MemoryStorage, seed: number, applied = 0): TestPeer {
    const node = new RawNode({
      id,
      storage,
      random: new SeededRandom(seed),
      electionTick: 10,
      heartbeatTick: 1,
      applied,
      ...this.overrides,
    });
    const peer: TestPeer = { id, node, storage, applied: [], readStates: [], confState: storage.initialState().confState };
    this.peers.set(id, peer);
    return peer;
  }

  /** Adds a node built by the test (e.g. over a storage holding a prepared log). */
  adopt(id: NodeId, node: RawNode, storage: MemoryStorage): TestPeer {
    const peer: TestPeer = { id, node, storage, applied: [], readStates: [], confState: storage.initialState().confState };
    this.peers.set(id, peer);
    return peer;
  }

  peer(id: NodeId): TestPeer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no peer ${id}`);
    return p;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}->${b}`);
    this.cuts.add(`${b}->${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  recover(): void {
    this.cuts.clear();
    this.filter = () => true;
  }

  /** Handles one Ready of a peer as a driver would: persist, send, apply, advance. */
  processReady(p: TestPeer): boolean {
    if (!p.node.hasReady()) return false;
    const rd = p.node.ready();
    if (rd.snapshot !== undefined) p.storage.applySnapshot({ meta: rd.snapshot, data: new Uint8Array(0) });
    p.storage.append(rd.entries);
    if (rd.hardState !== undefined) p.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(this.withFreshSnapshot(p, m));
    if (rd.snapshot !== undefined) p.confState = rd.snapshot.confState;
    for (const e of rd.committedEntries) {
      p.applied.push(e);
      if (e.type === EntryType.ConfChange) p.confState = p.node.applyConfChange(decodeConfChange(e.data));
    }
    for (const rs of rd.readStates) p.readStates.push(rs);
    p.node.advance(rd);
    return true;
  }

  /**
   * A MsgSnap whose stored snapshot predates the peer joining is replaced by
   * a fresh snapshot of the applied state, as a driver must (see RawNode).
   */
  private withFreshSnapshot(p: TestPeer, m: Message): Message {
    if (m.type !== MessageType.MsgSnap || m.snapshot === null) return m;
    const cs = m.snapshot.confState;
    if ([...cs.voters, ...cs.votersOutgoing, ...cs.learners].includes(m.to)) return m;
    const applied = p.node.raft.raftLog.applied;
    const snap = p.storage.createSnapshot(applied, p.confState, new Uint8Array(0));
    return { ...m, snapshot: snap.meta };
  }

  /** Processes Readys and delivers messages until quiet (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const p of this.peers.values()) while (this.processReady(p)) busy = true;
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) {
        busy = true;
        this.deliver(m);
      }
      if (!busy) return;
    }
    throw new Error('network did not stabilize');
  }

  deliver(m: Message): void {
    if (this.cuts.has(`${m.from}->${m.to}`) || !this.filter(m)) {
      if (this.traceEnabled) this.trace.push(`drop ${describeMessage(m)}`);
      return;
    }
    const p = this.peers.get(m.to);
    if (p === undefined) return;
    if (this.traceEnabled) this.trace.push(describeMessage(m));
    p.node.step(m);
  }

  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const p of this.peers.values()) p.node.tick();
      this.stabilize();
    }
  }

  /** Ticks one node until it is leader (bounded). */
  elect(id: NodeId): void {
    this.peer(id).node.campaign();
    this.stabilize();
    if (this.peer(id).node.raft.state !== StateType.Leader) throw new Error(`${id} did not become leader`);
  }

  leader(): TestPeer | undefined {
    for (const p of this.peers.values()) if (p.node.raft.state === StateType.Leader) return p;
    return undefined;
  }

  /** Applied non-empty normal entries' payloads as strings. */
  appliedData(id: NodeId): string[] {
    return this.peer(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
