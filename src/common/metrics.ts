/**
 * Prometheus metrics: one registry per process (default Node metrics
 * included) served over HTTP at /metrics on the process's metrics port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
let defaultsCollected = false;

export function initProcessMetrics(processName: string): Registry {
  if (!defaultsCollected) {
    registry.setDefaultLabels({ process: processName });
    collectDefaultMetrics({ register: registry, prefix: 'curvefs_' });
    defaultsCollected = true;
  }
  return registry;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /metrics on host:port (port 0 picks a free one). */
export async function startMetricsServer(host: string, port: number, reg: Registry = registry): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') {
      reg
        .metrics()
        .then((body) => {
          response.writeHead(200, { 'content-type': reg.contentType });
          response.end(body);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
