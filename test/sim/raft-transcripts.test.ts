/**
 * Transcript tests in the style of etcd's interaction_test.go: each file in
 * test/sim/testdata/ is a story of commands, each followed by the full
 * expected output (message trace, states). A behaviour change shows up as a
 * readable diff of the trace. Refresh the expectations after an intended
 * change with:
 *
 *   REWRITE=1 node --test dist/test/sim/raft-transcripts.test.js
 *
 * Format (datadriven): a command line, a line `----`, the output lines, and
 * a blank line. Lines starting with # are comments.
 *
 * Commands:
 *   nodes a b c [pre-vote] [check-quorum]   start a group (bootstrap snapshot at index 1)
 *   spare d                                 an empty node, not yet a member
 *   campaign a | propose a DATA | read a CTX | transfer a TO | tick a N | tick-all N
 *   conf a add|remove|learner ID            propose a single-node change at a
 *   joint a add:ID remove:ID learner:ID ... propose a joint change (auto leave)
 *   compact a                               snapshot a's applied state and compact its log
 *   isolate a | recover | drop TYPE         cut links / heal / drop a message type
 *   stabilize                               deliver until quiet; prints the trace
 *   status                                  one line per node
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { MessageType } from '../../src/raft/core/messages.js';
import { type ConfChange, ConfChangeTransition, ConfChangeType, StateType } from '../../src/raft/core/types.js';
import { bytes, TestNetwork } from './raft-test-network.js';

function findTestdata(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), process.cwd()];
  for (const root of candidates) {
    const dir = join(root, 'test', 'sim', 'testdata');
    if (existsSync(dir)) return dir;
  }
  throw new Error(`cannot find test/sim/testdata from ${candidates.join(', ')}`);
}

interface Block {
  readonly command: string;
  readonly expected: string[];
  readonly comments: string[];
}

function parse(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  let comments: string[] = [];
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (line.startsWith('#')) {
      comments.push(line);
      i++;
      continue;
    }
    const command = line;
    i++;
    assert.equal(lines[i], '----', `expected ---- after "${command}"`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== '') expected.push(lines[i++]!);
    blocks.push({ command, expected, comments });
    comments = [];
  }
  return blocks;
}

function format(blocks: readonly { command: string; output: string[]; comments: string[] }[]): string {
  const parts = blocks.map((b) => [...b.comments, b.command, '----', ...(b.output.length === 0 ? ['ok'] : b.output)].join('\n'));
  return `${parts.join('\n\n')}\n`;
}

class Interpreter {
  net: TestNetwork | undefined;
  private dropped = new Set<MessageType>();

  private get network(): TestNetwork {
    assert.ok(this.net !== undefined, 'start with "nodes"');
    return this.net;
  }

  run(command: string): string[] {
    const [verb, ...args] = command.split(/\s+/);
    const net = this.net;
    const start = net?.trace.length ?? 0;
    const traced = (): string[] => this.network.trace.slice(start);
    switch (verb) {
      case 'nodes': {
        const ids = args.filter((a) => !a.includes('-'));
        this.net = new TestNetwork(ids, { preVote: args.includes('pre-vote'), checkQuorum: args.includes('check-quorum') });
        this.net.filter = (m) => !this.dropped.has(m.type);
        return [];
      }
      case 'spare':
        this.network.addPeer(args[0]!, new MemoryStorage(), 99);
        return [];
      case 'campaign':
        this.network.peer(args[0]!).node.campaign();
        return [];
      case 'propose':
        return [this.network.peer(args[0]!).node.propose(bytes(args[1] ?? ''))];
      case 'read':
        this.network.peer(args[0]!).node.readIndex(bytes(args[1]!));
        return [];
      case 'transfer':
        this.network.peer(args[0]!).node.transferLeader(args[1]!);
        return [];
      case 'tick':
        for (let i = 0; i < Number(args[1]); i++) {
          this.network.peer(args[0]!).node.tick();
          this.network.stabilize();
        }
        return traced();
      case 'tick-all':
        this.network.tickAll(Number(args[0]));
        return traced();
      case 'conf': {
        const type = { add: ConfChangeType.AddNode, remove: ConfChangeType.RemoveNode, learner: ConfChangeType.AddLearnerNode }[args[1]!];
        assert.ok(type !== undefined, `unknown conf change ${args[1]}`);
        const cc: ConfChange = { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: args[2]! }], context: new Uint8Array(0) };
        return [this.network.peer(args[0]!).node.proposeConfChange(cc)];
      }
      case 'joint': {
        const changes = args.slice(1).map((a) => {
          const [kind, id] = a.split(':');
          const type = { add: ConfChangeType.AddNode, remove: ConfChangeType.RemoveNode, learner: ConfChangeType.AddLearnerNode }[kind!];
          assert.ok(type !== undefined && id !== undefined, `bad joint change ${a}`);
          return { type, nodeId: id };
        });
        const cc: ConfChange = { transition: ConfChangeTransition.JointImplicit, changes, context: new Uint8Array(0) };
        return [this.network.peer(args[0]!).node.proposeConfChange(cc)];
      }
      case 'compact': {
        const p = this.network.peer(args[0]!);
        const applied = p.node.raft.raftLog.applied;
        p.storage.createSnapshot(applied, p.confState, new Uint8Array(0));
        p.storage.compact(applied);
        return [`snapshot at ${applied}`];
      }
      case 'isolate':
        this.network.isolate(args[0]!);
        return [];
      case 'recover':
        this.dropped.clear();
        this.network.recover();
        this.network.filter = (m) => !this.dropped.has(m.type);
        return [];
      case 'drop': {
        const t = MessageType[args[0] as keyof typeof MessageType];
        assert.ok(t !== undefined, `unknown message type ${args[0]}`);
        this.dropped.add(t);
        return [];
      }
      case 'stabilize':
        this.network.stabilize();
        return traced();
      case 'status':
        return [...this.network.peers.values()].map((p) => {
          const r = p.node.raft;
          const cs = p.confState;
          return (
            `${p.id}: ${StateType[r.state]} term=${r.term} lead=${r.lead || '-'} commit=${r.raftLog.committed} ` +
            `last=${r.raftLog.lastIndex()} voters=${cs.voters.join(',')}${cs.votersOutgoing.length > 0 ? ` outgoing=${cs.votersOutgoing.join(',')}` : ''}` +
            `${cs.learners.length > 0 ? ` learners=${cs.learners.join(',')}` : ''} reads=${p.readStates.map((rs) => rs.index).join(',') || '-'}`
          );
        });
      default:
        throw new Error(`unknown command: ${command}`);
    }
  }
}

const dir = findTestdata();
const rewrite = process.env['REWRITE'] === '1';

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`transcript ${file}`, () => {
    const path = join(dir, file);
    const blocks = parse(readFileSync(path, 'utf8'));
    const interp = new Interpreter();
    const produced = blocks.map((b) => ({ command: b.command, comments: b.comments, output: interp.run(b.command) }));
    if (rewrite) {
      writeFileSync(path, format(produced));
      return;
    }
    for (const [i, b] of blocks.entries()) {
      const got = produced[i]!.output.length === 0 ? ['ok'] : produced[i]!.output;
      assert.deepEqual(got, b.expected, `${file}: output of "${b.command}" differs (REWRITE=1 to refresh if intended)`);
    }
  });
}
