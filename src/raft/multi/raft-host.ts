/**
 * Hosts many Raft groups (copysets) on one process over one Transport:
 * routes incoming messages and snapshot streams to the group they name,
 * reports unreachable peers to the right group, and drives every group
 * from one shared ticker (so 100 idle groups cost one timer).
 *
 * Groups are created with `startGroup` (which builds a RaftNode with this
 * host's transport and ticker) and removed with `stopGroup`. Messages for a
 * group this process does not host are dropped (counted): the sender keeps
 * retrying until the MDS reconciles membership.
 */
import { assert } from '../../common/assert.js';
import type { Message } from '../core/messages.js';
import type { RaftNodeOptions } from '../node/raft-node.js';
import { RaftNode } from '../node/raft-node.js';
import type { Ticker } from '../node/ticker.js';
import type { GroupId } from './group-id.js';
import type { GroupMessage, Transport } from './transport.js';

export type GroupOptions<R> = Omit<RaftNodeOptions<R>, 'transport' | 'ticker' | 'id' | 'groupId'>;

export class RaftHost {
  private readonly groups = new Map<GroupId, RaftNode<unknown>>();
  private readonly starting = new Set<GroupId>();
  unknownGroupMessages = 0;

  constructor(
    readonly transport: Transport,
    readonly ticker: Ticker,
  ) {
    transport.onMessage((messages) => this.route(messages));
    transport.onUnreachable((groupId, to) => this.groups.get(groupId)?.reportUnreachable(to));
    transport.onSnapshot(async (groupId, message, chunks) => {
      const node = this.groups.get(groupId);
      if (node === undefined) return { accepted: false, receivedBytes: 0, error: `group ${groupId} not hosted` };
      return node.receiveSnapshot(message, chunks);
    });
  }

  get localId(): string {
    return this.transport.localId;
  }

  async startGroup<R>(groupId: GroupId, options: GroupOptions<R>): Promise<RaftNode<R>> {
    assert(!this.groups.has(groupId) && !this.starting.has(groupId), `group ${groupId} already hosted`);
    this.starting.add(groupId);
    try {
      const node = await RaftNode.start<R>({ ...options, groupId, id: this.transport.localId, transport: this.transport, ticker: this.ticker });
      this.groups.set(groupId, node as RaftNode<unknown>);
      return node;
    } finally {
      this.starting.delete(groupId);
    }
  }

  group<R = unknown>(groupId: GroupId): RaftNode<R> | undefined {
    return this.groups.get(groupId) as RaftNode<R> | undefined;
  }

  groupIds(): GroupId[] {
    return [...this.groups.keys()];
  }

  async stopGroup(groupId: GroupId): Promise<void> {
    const node = this.groups.get(groupId);
    if (node === undefined) return;
    this.groups.delete(groupId);
    await node.stop();
  }

  /** Stops every group, then the transport. */
  async close(): Promise<void> {
    const nodes = [...this.groups.values()];
    this.groups.clear();
    await Promise.all(nodes.map((n) => n.stop()));
    await this.transport.close();
  }

  private route(messages: readonly GroupMessage[]): void {
    // One step() per group per batch, so each group schedules one Ready.
    let current: GroupId | undefined;
    let run: Message[] = [];
    const flush = (): void => {
      if (current === undefined || run.length === 0) return;
      const node = this.groups.get(current);
      if (node === undefined) this.unknownGroupMessages += run.length;
      else node.step(run);
      run = [];
    };
    for (const gm of messages) {
      if (gm.groupId !== current) {
        flush();
        current = gm.groupId;
      }
      run.push(gm.message);
    }
    flush();
  }
}
