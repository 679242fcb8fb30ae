/**
 * A TCP proxy on loopback that a test can cut (every connection dropped,
 * new ones refused) and heal: a network partition between two processes.
 */
import net from 'node:net';
import { assert } from '../../src/common/assert.js';
import { LOOPBACK_HOST } from './ports.js';

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to host:port of `target`. */
  static async start(target: string): Promise<TcpProxy> {
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon);
    const port = Number(target.slice(colon + 1));
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => {
      if (proxy === undefined || proxy.isCut) {
        client.destroy();
        return;
      }
      const upstream = net.connect({ host, port });
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy!.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LOOPBACK_HOST, port: 0 }, () => resolve());
    });
    const address = server.address();
    assert(address !== null && typeof address === 'object', 'proxy listens');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  get address(): string {
    return `${LOOPBACK_HOST}:${this.port}`;
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
