/**
 * The copysets this metaserver hosts. Each lives in
 * `<dataDir>/copysets/<poolId>-<copysetId>/` (its WAL and snapshots); on
 * start every such directory is reopened, its membership coming from its
 * own WAL. CreateCopysetNode (from the MDS, or tests) adds one; creating a
 * copyset that exists is answered EXIST and changes nothing.
 * DeleteCopysetNode drops a replica the group no longer counts as a member
 * (replica-removal.ts): its group is stopped, its directory renamed out of
 * the reopen pattern (atomic), then deleted; a leftover from a crash in
 * between is deleted on the next start.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeId } from '../../src/raft/core/types.js';
import { groupId, type GroupId } from '../../src/raft/multi/group-id.js';
import type { RaftHost } from '../../src/raft/multi/raft-host.js';
import type { CopysetNodeOptions } from './copyset-node.js';
import { CopysetNode } from './copyset-node.js';
import { isRemovedReplica, type MembershipClaim } from './replica-removal.js';

const DIR_PATTERN = /^(\d+)-(\d+)$/;
/** A removed replica's directory awaiting deletion: never reopened. */
const REMOVED_SUFFIX = '.removed';

export class CopysetManager {
  private readonly nodes = new Map<GroupId, CopysetNode>();
  private readonly creating = new Map<GroupId, Promise<CopysetNode>>();

  constructor(
    private readonly dataDir: string,
    private readonly host: RaftHost,
    private readonly raft: CopysetNodeOptions['raft'] = {},
  ) {}

  private dirOf(poolId: number, copysetId: number): string {
    return join(this.dataDir, 'copysets', `${poolId}-${copysetId}`);
  }

  /** Reopens every copyset found under the data directory. */
  async loadExisting(): Promise<number> {
    const root = join(this.dataDir, 'copysets');
    await mkdir(root, { recursive: true });
    let count = 0;
    for (const name of (await readdir(root)).sort()) {
      if (name.endsWith(REMOVED_SUFFIX)) {
        // Dropped before a crash: finish the deletion.
        await rm(join(root, name), { recursive: true, force: true });
        continue;
      }
      const match = DIR_PATTERN.exec(name);
      if (match === null) continue;
      await this.open(Number(match[1]), Number(match[2]), []);
      count += 1;
    }
    return count;
  }

  /** Creates (or, after a restart, reopens) a copyset; 'exist' if it is already hosted. */
  async create(poolId: number, copysetId: number, peers: readonly NodeId[]): Promise<'created' | 'exist'> {
    const id = groupId(poolId, copysetId);
    if (this.nodes.has(id)) return 'exist';
    const pending = this.creating.get(id);
    if (pending !== undefined) {
      await pending;
      return 'exist';
    }
    await this.open(poolId, copysetId, peers);
    return 'created';
  }

  private async open(poolId: number, copysetId: number, peers: readonly NodeId[]): Promise<CopysetNode> {
    const id = groupId(poolId, copysetId);
    const started = (async () => {
      const dir = this.dirOf(poolId, copysetId);
      await mkdir(dir, { recursive: true });
      return CopysetNode.start({ poolId, copysetId, peers, dir, host: this.host, raft: this.raft });
    })();
    this.creating.set(id, started);
    try {
      const node = await started;
      this.nodes.set(id, node);
      return node;
    } finally {
      this.creating.delete(id);
    }
  }

  /**
   * Drops this replica if the group no longer counts it as a member
   * (DeleteCopysetNode): 'removed', 'absent' (not hosted: already dropped),
   * 'member' (kept), 'busy' (being created right now).
   */
  async removeIfNotMember(poolId: number, copysetId: number, claim: MembershipClaim): Promise<'removed' | 'absent' | 'member' | 'busy'> {
    const node = this.get(poolId, copysetId);
    if (node === undefined) return this.creating.has(groupId(poolId, copysetId)) ? 'busy' : 'absent';
    if (!isRemovedReplica(this.host.localId, node.status().confState, node.sm.epoch, claim)) return 'member';
    if (this.nodes.get(node.groupId) !== node) return 'absent';
    this.nodes.delete(node.groupId);
    await this.host.stopGroup(node.groupId);
    const dir = this.dirOf(poolId, copysetId);
    const doomed = `${dir}${REMOVED_SUFFIX}`;
    await rm(doomed, { recursive: true, force: true });
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
    return 'removed';
  }

  get(poolId: number, copysetId: number): CopysetNode | undefined {
    if (!Number.isSafeInteger(poolId) || !Number.isSafeInteger(copysetId) || poolId < 0 || copysetId < 0) return undefined;
    return this.nodes.get(groupId(poolId, copysetId));
  }

  all(): CopysetNode[] {
    return [...this.nodes.values()];
  }
}
