/**
 * One gRPC channel (grpc-js Client) per address, created on first use and
 * reused by every call to that address. A pool may be shared by several
 * RpcClients (e.g. one per copyset talking to the same metaservers); whoever
 * created it closes it.
 */
import { credentials, Client, type ChannelOptions } from '@grpc/grpc-js';
import { assert } from '../common/assert.js';
import { isAddress } from './leader-redirect.js';

export const MESSAGE_BYTES_DEFAULT = 16 * 1024 * 1024;

export interface ChannelPoolOptions {
  /** Largest message sent or received (bytes). */
  readonly maxMessageBytes?: number;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: ChannelOptions;
}

export class ChannelPool {
  private readonly channels = new Map<string, Client>();
  private readonly options: ChannelOptions;
  private isClosed = false;

  constructor(options: ChannelPoolOptions = {}) {
    const maxMessageBytes = options.maxMessageBytes ?? MESSAGE_BYTES_DEFAULT;
    assert(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes > 0, `maxMessageBytes ${maxMessageBytes}`);
    this.options = {
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      // Reconnect quickly after a peer restarts (defaults back off up to 120 s).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
      ...options.channelOptions,
    };
  }

  get(address: string): Client {
    assert(!this.isClosed, 'channel pool is closed');
    assert(isAddress(address), `not a host:port address: ${address}`);
    let channel = this.channels.get(address);
    if (channel === undefined) {
      channel = new Client(address, credentials.createInsecure(), this.options);
      this.channels.set(address, channel);
    }
    return channel;
  }

  size(): number {
    return this.channels.size;
  }

  /** Closes one channel (e.g. a peer removed from the cluster). */
  drop(address: string): void {
    const channel = this.channels.get(address);
    if (channel === undefined) return;
    this.channels.delete(address);
    channel.close();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }
}
