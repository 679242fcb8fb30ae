/** The Raft node driver: one group's Ready loop over a WAL, snapshots and a state machine. */
export { RaftNode } from './raft-node.js';
export type { RaftNodeOptions, RaftNodeStatus, LeaderChangeListener } from './raft-node.js';
export type { StateMachine } from './state-machine.js';
export { NotLeaderError, RaftUnavailableError } from './errors.js';
export { IntervalTicker, ManualTicker } from './ticker.js';
export type { Ticker } from './ticker.js';
export { RaftMetrics } from './raft-metrics.js';
