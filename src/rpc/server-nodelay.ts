/**
 * grpc-js sets TCP_NODELAY on its client sockets but not on the sockets its
 * server accepts, so a reply written in more than one segment (HTTP/2
 * HEADERS, DATA, trailers) can wait behind Nagle for the client's (delayed)
 * ACK: the caller of a sequential request/reply loop feels it on every call.
 * grpc-js exposes no option for it; this reaches its http2 servers (a private
 * field, checked loudly so a grpc-js upgrade cannot silently undo it) and sets
 * NODELAY on every socket they accept. Call after bindAsync has succeeded.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type { Server } from '@grpc/grpc-js';
import { assert } from '../common/assert.js';

export function setServerNoDelay(server: Server): void {
  const servers = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  assert(servers instanceof Map && servers.size > 0, 'grpc-js internals changed: no http2Servers map');
  for (const s of servers.keys()) {
    s.on('connection', (socket: Socket) => socket.setNoDelay(true));
  }
}
