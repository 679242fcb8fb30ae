/**
 * Who leads the MDS cluster. Every mutating (and reading) MDS handler asks
 * `isActing()` first; a follower answers REDIRECTED with `leaderAddress()`.
 */
export interface LeaderElection {
  /**
   * True only while this MDS won the election AND its lease is provably
   * alive: the answer turns false by itself when the lease deadline passes,
   * even if no timer has fired yet (it reads the clock on every call).
   */
  isActing(): boolean;
  /** "host:port" of the leader as last seen ('' when unknown); may be this MDS. */
  leaderAddress(): string;
  /** Called synchronously when this MDS starts or stops leading. */
  onChange(listener: (isLeading: boolean) => void): void;
  start(): void;
  /** Stops campaigning; a leader resigns so another MDS takes over at once. */
  stop(): Promise<void>;
}

/** Embedded mode: the only MDS always leads. */
export class SoleLeaderElection implements LeaderElection {
  private listeners: Array<(isLeading: boolean) => void> = [];
  private running = false;

  constructor(private address: string) {}

  /** The advertised address, once the server knows its port. */
  setAddress(address: string): void {
    this.address = address;
  }

  isActing(): boolean {
    return this.running;
  }
  leaderAddress(): string {
    return this.address;
  }
  onChange(listener: (isLeading: boolean) => void): void {
    this.listeners.push(listener);
  }
  start(): void {
    this.running = true;
    for (const listener of this.listeners) listener(true);
  }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const listener of this.listeners) listener(false);
  }
}
