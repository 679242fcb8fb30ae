/**
 * Raft's safety properties (paper Figure 3), checked continuously:
 *
 * - Election safety: at most one leader per term.
 * - Log matching: two entries with the same index and term hold the same
 *   data, and the logs before them are identical. Checked inductively: every
 *   entry any node ever holds (it passes through Ready.entries) is recorded
 *   with its data and the term of the entry before it; (index, term) must
 *   always map to the same (data, previous term), which by induction makes
 *   the whole prefixes equal.
 * - Leader completeness: an entry committed in some term is in the log of
 *   every leader of a later term (checked when a leader appears and when an
 *   entry becomes known as committed). "Committed in term C" is the term of
 *   the leader that committed it, not the entry's own term (an old entry is
 *   committed later, with an entry of the leader's term, §5.4.2). The
 *   checker does not see C, so it uses a sound upper bound: the term of the
 *   node that applies the entry (it learned the commit from a leader of term
 *   C or later, or is that leader).
 * - State machine safety: no two nodes apply different entries at one index.
 *
 * A violation throws SafetyViolation carrying a description; the simulator
 * adds the seed.
 */
import type { RaftLog } from '../../src/raft/core/raft-log.js';
import type { Entry, NodeId } from '../../src/raft/core/types.js';

export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

function fingerprint(e: Entry): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < e.data.byteLength; i++) h = Math.imul(h ^ e.data[i]!, 0x01000193) >>> 0;
  return `${e.type}:${e.data.byteLength}:${h}`;
}

interface LeaderView {
  readonly id: NodeId;
  readonly term: number;
  readonly log: RaftLog;
}

export class SafetyChecker {
  /** term -> leader */
  private readonly leaders = new Map<number, NodeId>();
  /** "index:term" -> fingerprint and previous term */
  private readonly entries = new Map<string, { fp: string; prevTerm: number }>();
  /** index -> term + fingerprint of the entry applied there */
  private readonly applied = new Map<number, { term: number; fp: string }>();
  /** Committed entries known so far: index -> entry term and an upper bound of the term it was committed in. */
  private readonly committed = new Map<number, { term: number; committedBy: number }>();
  private readonly leaderLogs = new Map<NodeId, LeaderView>();
  checks = 0;

  /** Called after every simulation step with the nodes that believe they lead. */
  observeLeaders(current: readonly LeaderView[]): void {
    this.checks++;
    const seen = new Set<NodeId>();
    for (const l of current) {
      seen.add(l.id);
      const known = this.leaders.get(l.term);
      if (known !== undefined && known !== l.id) {
        throw new SafetyViolation('election safety', `term ${l.term} has two leaders: ${known} and ${l.id}`);
      }
      const prev = this.leaderLogs.get(l.id);
      if (known === undefined || prev === undefined || prev.term !== l.term) {
        this.leaders.set(l.term, l.id);
        this.leaderLogs.set(l.id, l);
        this.checkLeaderHasAllCommitted(l);
      }
    }
    for (const id of [...this.leaderLogs.keys()]) if (!seen.has(id)) this.leaderLogs.delete(id);
  }

  private checkLeaderHasAllCommitted(l: LeaderView): void {
    const first = l.log.firstIndex();
    for (const [index, { term, committedBy }] of this.committed) {
      if (committedBy >= l.term) continue;
      // Entries before the leader's first index are in its snapshot (committed there).
      if (index < first) continue;
      const t = l.log.tryTerm(index);
      if (t !== term) {
        throw new SafetyViolation(
          'leader completeness',
          `leader ${l.id} of term ${l.term} has term ${t} at ${index}, committed entry has term ${term}`,
        );
      }
    }
  }

  /** Entries a node is about to persist (Ready.entries), with the term of the entry before the first. */
  observeEntries(node: NodeId, ents: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    let prevIndex = ents.length > 0 ? ents[0]!.index - 1 : 0;
    for (const e of ents) {
      if (e.index !== prevIndex + 1) throw new SafetyViolation('log matching', `${node}: entries not contiguous at ${e.index}`);
      if (e.term < prev) throw new SafetyViolation('log matching', `${node}: term decreases at ${e.index}`);
      const key = `${e.index}:${e.term}`;
      const fp = fingerprint(e);
      const known = this.entries.get(key);
      if (known === undefined) {
        this.entries.set(key, { fp, prevTerm: prev });
      } else if (known.fp !== fp || known.prevTerm !== prev) {
        throw new SafetyViolation(
          'log matching',
          `${node}: entry ${key} differs from one seen before (data ${known.fp} vs ${fp}, previous term ${known.prevTerm} vs ${prev})`,
        );
      }
      prev = e.term;
      prevIndex = e.index;
    }
  }

  /** A node whose current term is `nodeTerm` applies a committed entry. */
  observeApply(node: NodeId, nodeTerm: number, e: Entry): void {
    const fp = fingerprint(e);
    const known = this.applied.get(e.index);
    if (known === undefined) {
      this.applied.set(e.index, { term: e.term, fp });
    } else if (known.term !== e.term || known.fp !== fp) {
      throw new SafetyViolation(
        'state machine safety',
        `${node} applied ${e.term}/${e.index} (${fp}) but ${known.term}/${e.index} (${known.fp}) was applied elsewhere`,
      );
    }
    const known2 = this.committed.get(e.index);
    if (known2 === undefined || nodeTerm < known2.committedBy) {
      this.committed.set(e.index, { term: e.term, committedBy: nodeTerm });
      for (const l of this.leaderLogs.values()) {
        if (l.term <= nodeTerm || e.index < l.log.firstIndex()) continue;
        const t = l.log.tryTerm(e.index);
        if (t !== e.term) {
          throw new SafetyViolation(
            'leader completeness',
            `leader ${l.id} of term ${l.term} lacks committed entry ${e.term}/${e.index} (has ${t})`,
          );
        }
      }
    }
  }

  appliedTermAt(index: number): number | undefined {
    return this.applied.get(index)?.term;
  }

  get maxAppliedIndex(): number {
    let m = 0;
    for (const i of this.applied.keys()) if (i > m) m = i;
    return m;
  }

  get leaderCount(): number {
    return this.leaders.size;
  }
}
