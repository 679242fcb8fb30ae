/**
 * Applying membership changes to a configuration (etcd's confchange/).
 *
 * A Changer computes a NEW config and progress map from the current ones; it
 * never mutates its input, so a refused change leaves the tracker as it was.
 * - simple(): at most one voter added or removed (learners freely).
 * - enterJoint(): the current voters become the outgoing half, the changes
 *   make the incoming half; decisions need both majorities (Raft §6).
 * - leaveJoint(): drop the outgoing half; demoted voters become learners.
 * `restore()` rebuilds a config from a ConfState (snapshots, restarts).
 *
 * Refusals are values (`{ok: false, reason}`): a change is replicated to
 * every member, and every member must refuse it the same way.
 */
import { Progress } from './progress.js';
import {
  assertConfigInvariants,
  cloneTrackerConfig,
  isJoint,
  type ProgressTracker,
  type TrackerConfig,
} from './progress-tracker.js';
import { type ConfChange, ConfChangeTransition, type ConfChangeSingle, ConfChangeType, type ConfState, type NodeId } from './types.js';

export interface ChangeOutcome {
  readonly config: TrackerConfig;
  readonly progress: Map<NodeId, Progress>;
}

export type ChangeResult = { ok: true; value: ChangeOutcome } | { ok: false; reason: string };

/** True for an empty ConfChange: "leave the joint config". */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** Whether cc enters a joint config, and if so whether it is left automatically. */
export function entersJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== ConfChangeTransition.JointExplicit };
  }
  return { joint: false, autoLeave: false };
}

export class Changer {
  constructor(
    private readonly tracker: ProgressTracker,
    /** The last log index: new members start probing from here. */
    private readonly lastIndex: number,
  ) {}

  apply(cc: ConfChange): ChangeResult {
    if (isLeaveJoint(cc)) return this.leaveJoint();
    const j = entersJoint(cc);
    if (j.joint) return this.enterJoint(j.autoLeave, cc.changes);
    return this.simple(cc.changes);
  }

  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.copy();
    if (isJoint(config)) return { ok: false, reason: 'config is already joint' };
    if (config.incoming.size === 0) return { ok: false, reason: "can't make a zero-voter config joint" };
    for (const id of config.incoming) config.outgoing.add(id);
    const err = this.applyChanges(config, progress, changes);
    if (err !== null) return { ok: false, reason: err };
    config.autoLeave = autoLeave;
    return checkAndReturn(config, progress);
  }

  leaveJoint(): ChangeResult {
    const { config, progress } = this.copy();
    if (!isJoint(config)) return { ok: false, reason: "can't leave a non-joint config" };
    for (const id of config.learnersNext) {
      config.learners.add(id);
      progress.get(id)!.isLearner = true;
    }
    config.learnersNext.clear();
    for (const id of config.outgoing) {
      if (!config.incoming.has(id) && !config.learners.has(id)) progress.delete(id);
    }
    config.outgoing.clear();
    config.autoLeave = false;
    return checkAndReturn(config, progress);
  }

  simple(changes: readonly ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.copy();
    if (isJoint(config)) return { ok: false, reason: "can't apply a simple config change in a joint config" };
    const err = this.applyChanges(config, progress, changes);
    if (err !== null) return { ok: false, reason: err };
    let changed = 0;
    for (const id of config.incoming) if (!this.tracker.config.incoming.has(id)) changed++;
    for (const id of this.tracker.config.incoming) if (!config.incoming.has(id)) changed++;
    if (changed > 1) return { ok: false, reason: 'more than one voter changed without entering joint config' };
    return checkAndReturn(config, progress);
  }

  private copy(): { config: TrackerConfig; progress: Map<NodeId, Progress> } {
    const progress = new Map<NodeId, Progress>();
    for (const [id, pr] of this.tracker.progress) progress.set(id, pr.clone());
    return { config: cloneTrackerConfig(this.tracker.config), progress };
  }

  private applyChanges(
    config: TrackerConfig,
    progress: Map<NodeId, Progress>,
    changes: readonly ConfChangeSingle[],
  ): string | null {
    for (const c of changes) {
      if (c.nodeId === '') continue;
      switch (c.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(config, progress, c.nodeId);
          break;
        case ConfChangeType.AddLearnerNode:
          this.makeLearner(config, progress, c.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          remove(config, progress, c.nodeId);
          break;
      }
    }
    if (config.incoming.size === 0) return 'removed all voters';
    return null;
  }

  private makeVoter(config: TrackerConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    const pr = progress.get(id);
    if (pr === undefined) {
      this.initProgress(config, progress, id, false);
      return;
    }
    pr.isLearner = false;
    config.learners.delete(id);
    config.learnersNext.delete(id);
    config.incoming.add(id);
  }

  private makeLearner(config: TrackerConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    const pr = progress.get(id);
    if (pr === undefined) {
      this.initProgress(config, progress, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Demote: remove as voter but keep the progress (the node stays a member).
    remove(config, progress, id);
    progress.set(id, pr);
    if (config.outgoing.has(id)) {
      // Still a voter in the outgoing half: becomes a learner on leaving joint.
      config.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      config.learners.add(id);
    }
  }

  private initProgress(config: TrackerConfig, progress: Map<NodeId, Progress>, id: NodeId, isLearner: boolean): void {
    if (isLearner) config.learners.add(id);
    else config.incoming.add(id);
    // Probe from the last index: a new member usually has nothing, and the
    // first reject tells us where to go (match 0 < next).
    progress.set(
      id,
      new Progress({
        match: 0,
        next: Math.max(this.lastIndex, 1),
        inflights: this.tracker.newInflights(),
        isLearner,
        recentActive: true,
      }),
    );
  }
}

function remove(config: TrackerConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
  if (!progress.has(id)) return;
  config.incoming.delete(id);
  config.learners.delete(id);
  config.learnersNext.delete(id);
  // An outgoing voter keeps its progress until the joint config is left.
  if (!config.outgoing.has(id)) progress.delete(id);
}

function checkAndReturn(config: TrackerConfig, progress: Map<NodeId, Progress>): ChangeResult {
  assertConfigInvariants(config, progress);
  return { ok: true, value: { config, progress } };
}

/**
 * Rebuilds the config described by cs, starting from an empty tracker: the
 * outgoing voters are added one by one, then the joint config is entered
 * with the incoming voters and learners (etcd's confchange.Restore).
 */
export function restoreConfig(tracker: ProgressTracker, lastIndex: number, cs: ConfState): ChangeResult {
  const outgoing: ConfChangeSingle[] = cs.votersOutgoing.map((id) => ({ type: ConfChangeType.AddNode, nodeId: id }));
  const incoming: ConfChangeSingle[] = [];
  for (const id of cs.votersOutgoing) incoming.push({ type: ConfChangeType.RemoveNode, nodeId: id });
  for (const id of cs.voters) incoming.push({ type: ConfChangeType.AddNode, nodeId: id });
  for (const id of cs.learners) incoming.push({ type: ConfChangeType.AddLearnerNode, nodeId: id });
  // learnersNext are outgoing voters demoted in the incoming half.
  for (const id of cs.learnersNext ?? []) incoming.push({ type: ConfChangeType.AddLearnerNode, nodeId: id });

  const steps: Array<(c: Changer) => ChangeResult> = [];
  if (outgoing.length === 0) {
    for (const c of incoming) steps.push((ch) => ch.simple([c]));
  } else {
    for (const c of outgoing) steps.push((ch) => ch.simple([c]));
    steps.push((ch) => ch.enterJoint(cs.autoLeave ?? false, incoming));
  }
  let last: ChangeResult = { ok: true, value: { config: tracker.config, progress: tracker.progress } };
  for (const step of steps) {
    last = step(new Changer(tracker, lastIndex));
    if (!last.ok) return last;
    tracker.config = last.value.config;
    tracker.progress = last.value.progress;
  }
  return last;
}
