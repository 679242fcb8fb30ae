/**
 * Shared pieces of the rpc-*.test.ts files: real gRPC servers on 127.0.0.1
 * port 0, a fast client configuration, and a free-port helper.
 */
import { createServer } from 'node:net';
import { SeededRandom } from '../../src/common/random.js';
import { mdsService, type MdsMethods } from '../../src/proto/index.js';
import { RpcClient, RpcServer, type RpcClientOptions, type ServiceHandlers } from '../../src/rpc/index.js';

export async function startMds(handlers: ServiceHandlers<MdsMethods>, options: { port?: number; maxMessageBytes?: number } = {}): Promise<RpcServer> {
  const server = new RpcServer({ port: options.port ?? 0, shutdownGraceMs: 500, ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}) });
  server.addService(mdsService(), handlers);
  await server.start();
  return server;
}

export function mdsClient(addresses: string[], options: Partial<RpcClientOptions<MdsMethods>> = {}): RpcClient<MdsMethods> {
  return new RpcClient(mdsService(), {
    addresses,
    timeoutMs: 1_000,
    totalTimeoutMs: 5_000,
    maxAttempts: 5,
    backoff: { initialMs: 20, maxMs: 100 },
    random: new SeededRandom(7),
    ...options,
  });
}

/** A port that was free a moment ago (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      probe.close(() => resolve(address.port));
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
