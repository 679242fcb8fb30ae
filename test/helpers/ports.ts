/**
 * Free TCP ports on 127.0.0.1 for parts that tests start on loopback.
 *
 * Ports come from below the kernel's ephemeral range (ip_local_port_range):
 * a port the kernel picks for bind(0) is also one it may give an outgoing
 * connection's local end, so a server restarted on its old port (a killed
 * metaserver, whose Raft identity is its address) could find it taken by
 * some client socket (EADDRINUSE; a clean-clone CI run failed so). We pick at
 * random below that range, check that a bind succeeds, close at once and hand
 * the number out. Between close and the part's own bind another process may
 * take it (a small window: the part then fails to start, loudly). Within this
 * process a port is never handed out twice, so two helpers started in one test
 * file cannot collide, and a stopped server keeps its port for a restart.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { assert } from '../../src/common/assert.js';

export const LOOPBACK_HOST = '127.0.0.1';

/** Ports handed out by this process; never handed out again. */
const handedOut = new Set<number>();

/** How many kernel picks we try before giving up (each is one bind/close). */
const PICK_ATTEMPTS_MAX = 64;

/** Lowest port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Candidates: [PICK_LOW, ephemeral low), or none when that range is too small (then the kernel picks). */
const PICK_LOW = 10_000;
const PICK_HIGH = ephemeralLow();

/** A port below the ephemeral range that binds now (closed again at once), or 0 if this one is taken. */
async function bindBelowEphemeral(): Promise<number> {
  const port = PICK_LOW + Math.floor(Math.random() * (PICK_HIGH - PICK_LOW));
  return (await isPortFree(port)) ? port : 0;
}

function bindEphemeral(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    // exclusive: a cluster primary must not share the handle with us.
    server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      assert(address !== null && typeof address === 'object', 'listening server has an address');
      const port = address.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** One free TCP port on 127.0.0.1 that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < PICK_ATTEMPTS_MAX; attempt++) {
    const port = PICK_HIGH - PICK_LOW >= 1_000 ? await bindBelowEphemeral() : await bindEphemeral();
    if (port === 0) continue;
    assert(Number.isInteger(port) && port > 0 && port < 65536, `picked port ${port}`);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no unused port after ${PICK_ATTEMPTS_MAX} picks on ${LOOPBACK_HOST}`);
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  assert(Number.isInteger(count) && count > 0 && count <= 64, `freePorts count ${count}`);
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  assert(new Set(ports).size === count, 'freePorts returns distinct ports');
  return ports;
}

/** True when a new listener can bind `port` on `host` right now (it is closed again at once). */
export function isPortFree(port: number, host: string = LOOPBACK_HOST): Promise<boolean> {
  assert(Number.isInteger(port) && port > 0 && port < 65536, `isPortFree port ${port}`);
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close((err) => (err ? reject(err) : resolve(true)));
    });
  });
}

/** True when something accepts a TCP connection on host:port within timeoutMs. */
export function isPortOpen(port: number, host: string = LOOPBACK_HOST, timeoutMs = 500): Promise<boolean> {
  assert(timeoutMs > 0, 'isPortOpen timeout');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits (polling, bounded) until `port` can be bound again; throws after timeoutMs. */
export async function waitForPortFree(port: number, timeoutMs = 5000, host: string = LOOPBACK_HOST): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isPortFree(port, host)) return;
    if (Date.now() >= deadline) throw new Error(`port ${host}:${port} still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
