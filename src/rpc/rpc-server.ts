/**
 * RpcServer: hosts gRPC services whose handlers are plain async functions
 * `(request, context) => reply`. It owns what every service would otherwise
 * get subtly wrong:
 * - a request that fails to decode (bad bytes, an id beyond 2^53) is answered
 *   INVALID_ARGUMENT (grpc-js alone would say INTERNAL) and the server keeps
 *   serving; an oversized one is refused by grpc-js (RESOURCE_EXHAUSTED)
 *   against maxMessageBytes;
 * - a request missing a required id (0 in proto3) gets status PARAM_ERROR;
 * - a thrown MetaError becomes that status in the reply (RedirectError adds
 *   the leader hint); any other exception becomes INTERNAL and is logged
 *   with its stack, never sent to the client;
 * - shutdown drains in-flight calls for a bounded grace period, then forces.
 * Replies follow the common.proto convention (status = 1, leader_hint = 2).
 */
import {
  Server,
  ServerCredentials,
  status as Status,
  type MethodDefinition,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedHandleCall,
} from '@grpc/grpc-js';
import { assert } from '../common/assert.js';
import { CurveError, MetaError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { MetaStatusCode } from '../common/meta-status.js';
import { MalformedMessage, type Method, type MessageInit, type TypedService } from '../proto/index.js';
import { MESSAGE_BYTES_DEFAULT } from './channel-pool.js';
import { RedirectError } from './leader-redirect.js';
import { rpcMetrics, type RpcMetrics } from './rpc-metrics.js';
import { setServerNoDelay } from './server-nodelay.js';

export const SHUTDOWN_GRACE_DEFAULT_MS = 2_000;

export interface RpcServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: the OS picks a free port; read it from start() or `port`. */
  readonly port?: number;
  /** Largest message received or sent (bytes). Default 16 MiB. */
  readonly maxMessageBytes?: number;
  readonly shutdownGraceMs?: number;
  readonly logger?: Logger;
  /** Default: the process-wide RpcMetrics (src/common/metrics.ts registry). */
  readonly metrics?: RpcMetrics;
}

export interface CallContext {
  readonly method: string;
  /** The client's address as grpc-js reports it. */
  readonly peer: string;
  /** Aborts when the client cancels or its deadline passes. */
  readonly signal: AbortSignal;
}

export type UnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<MessageInit<Res>> | MessageInit<Res>;
export interface ServerStreamHandler<Req, Res> {
  /** Must yield at least one message; the first carries the status. */
  serverStream(request: Req, context: CallContext): AsyncIterable<MessageInit<Res>>;
}
export interface ClientStreamHandler<Req, Res> {
  clientStream(requests: AsyncIterable<Req>, context: CallContext): Promise<MessageInit<Res>>;
  /**
   * Recognises the protocol's last message (e.g. SnapshotChunk.done). A
   * cancelled client stream looks like a normal end of stream to a grpc-js
   * server, so with this set the requests iterable throws (and the call gets
   * INVALID_ARGUMENT) when the stream ends without it. Strongly advised.
   */
  isLastMessage?(request: Req): boolean;
}
export type AnyHandler<Req, Res> = UnaryHandler<Req, Res> | ServerStreamHandler<Req, Res> | ClientStreamHandler<Req, Res>;

/** Handlers by method name; a method left out answers UNIMPLEMENTED. */
export type ServiceHandlers<M> = {
  [K in keyof M]?: M[K] extends Method<infer Req, infer Res> ? AnyHandler<Req, Res> : never;
};

export interface ServiceOptions<M> {
  /** Request fields that must be non-zero in every method (e.g. ['poolId', 'copysetId', 'fsId']). */
  readonly requiredIds?: readonly string[];
  /** Per-method override of requiredIds. */
  readonly requiredIdsByMethod?: { readonly [K in keyof M]?: readonly string[] };
}

/** Raised inside a client-stream iterator when one message failed to decode. */
class MalformedRequestError extends Error {}

/** Raised inside a client-stream iterator when the stream ended before its last message. */
class StreamCancelledError extends Error {}

export class RpcServer {
  private readonly server: Server;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly shutdownGraceMs: number;
  private readonly logger: Logger;
  private readonly metrics: RpcMetrics;
  private boundPort = -1;
  private isShutDown = false;

  constructor(options: RpcServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.shutdownGraceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_DEFAULT_MS;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? rpcMetrics();
    const maxMessageBytes = options.maxMessageBytes ?? MESSAGE_BYTES_DEFAULT;
    assert(Number.isSafeInteger(this.requestedPort) && this.requestedPort >= 0 && this.requestedPort <= 65_535, `port ${this.requestedPort}`);
    assert(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes > 0, `maxMessageBytes ${maxMessageBytes}`);
    this.server = new Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
    });
  }

  /** The bound port (after start()). */
  get port(): number {
    assert(this.boundPort > 0, 'server not started');
    return this.boundPort;
  }

  /** "host:port" clients dial (after start()). */
  get address(): string {
    const host = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    return `${host}:${this.port}`;
  }

  addService<M>(service: TypedService<M>, handlers: ServiceHandlers<M>, options: ServiceOptions<M> = {}): void {
    assert(this.boundPort < 0, 'add services before start()');
    const implementation: Record<string, UntypedHandleCall> = {};
    for (const [method, handler] of Object.entries(handlers) as [string, AnyHandler<unknown, unknown> | undefined][]) {
      if (handler === undefined) continue;
      const definition = service.definition[method];
      assert(definition !== undefined, `${service.name} has no method ${method}`);
      const required = (options.requiredIdsByMethod as Record<string, readonly string[] | undefined> | undefined)?.[method] ?? options.requiredIds ?? [];
      implementation[method] = this.wrap(service.name, method, definition, handler, required);
    }
    this.server.addService(service.definition, implementation);
  }

  /** Binds and starts serving; resolves to the bound port. */
  start(): Promise<number> {
    assert(this.boundPort < 0 && !this.isShutDown, 'start() once');
    const host = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${this.requestedPort}`, ServerCredentials.createInsecure(), (error, port) => {
        if (error) {
          // grpc-js says "No address added out of total 1 resolved"; name the address for the operator.
          reject(new CurveError('CURVEFS_ERR_UNAVAILABLE', `cannot listen on ${host}:${this.requestedPort}: ${error.message}`, { cause: error }));
          return;
        }
        assert(port > 0, `bound port ${port}`);
        this.boundPort = port;
        // Replies must not wait behind Nagle for the client's ACK (server-nodelay.ts).
        setServerNoDelay(this.server);
        resolve(port);
      });
    });
  }

  /** Stops accepting calls, lets in-flight ones finish for up to graceMs, then cancels the rest. */
  shutdown(graceMs = this.shutdownGraceMs): Promise<void> {
    if (this.isShutDown) return Promise.resolve();
    this.isShutDown = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wrap(
    serviceName: string,
    method: string,
    definition: MethodDefinition<unknown, unknown>,
    handler: AnyHandler<unknown, unknown>,
    requiredIds: readonly string[],
  ): UntypedHandleCall {
    const name = `${serviceName}/${method}`;
    if (definition.requestStream) {
      assert(!definition.responseStream, `${name}: bidirectional streams are not supported`);
      assert(typeof handler === 'object' && 'clientStream' in handler, `${name} needs a clientStream handler`);
      return (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        void this.runClientStream(name, call, this.measured(serviceName, method, callback), handler);
    }
    if (definition.responseStream) {
      assert(typeof handler === 'object' && 'serverStream' in handler, `${name} needs a serverStream handler`);
      return (call: ServerWritableStream<unknown, unknown>) => {
        const record = this.measured(serviceName, method, () => undefined);
        call.once('finish', () => record(null, {}));
        void this.runServerStream(name, call, handler, requiredIds, record);
      };
    }
    assert(typeof handler === 'function', `${name} needs a unary handler function`);
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
      void this.runUnary(name, call, this.measured(serviceName, method, callback), handler, requiredIds);
  }

  /**
   * Wraps a reply callback to count the outcome once: the reply's status name
   * (OK, NOT_FOUND...) or the gRPC status name (INVALID_ARGUMENT, INTERNAL).
   */
  private measured(service: string, method: string, callback: sendUnaryData<unknown>): sendUnaryData<unknown> {
    const stopTimer = this.metrics.serverSeconds.startTimer({ service, method });
    let isRecorded = false;
    return (error, value) => {
      if (!isRecorded) {
        isRecorded = true;
        stopTimer();
        const status = (value as { status?: unknown } | null | undefined)?.status;
        const code = error
          ? (Status[error.code ?? Status.UNKNOWN] ?? 'UNKNOWN')
          : typeof status === 'number'
            ? (MetaStatusCode[status] ?? String(status))
            : 'OK';
        this.metrics.serverHandled.inc({ service, method, code });
      }
      callback(error, value);
    };
  }

  private async runUnary(
    name: string,
    call: ServerUnaryCall<unknown, unknown>,
    callback: sendUnaryData<unknown>,
    handler: UnaryHandler<unknown, unknown>,
    requiredIds: readonly string[],
  ): Promise<void> {
    const request = call.request;
    if (request instanceof MalformedMessage) {
      this.logger.debug({ method: name, peer: call.getPeer(), reason: request.reason }, 'malformed request');
      callback({ code: Status.INVALID_ARGUMENT, details: request.reason });
      return;
    }
    const missing = missingId(request, requiredIds);
    if (missing !== null) {
      callback(null, { status: MetaStatusCode.PARAM_ERROR, leaderHint: '' });
      return;
    }
    const context = this.context(name, call);
    try {
      const reply = await handler(request, context.context);
      assert(reply !== undefined && reply !== null, `${name} returned no reply`);
      callback(null, reply);
    } catch (error) {
      const status = this.errorReply(name, error);
      if ('code' in status) callback(status);
      else callback(null, status);
    } finally {
      context.dispose();
    }
  }

  private async runServerStream(
    name: string,
    call: ServerWritableStream<unknown, unknown>,
    handler: ServerStreamHandler<unknown, unknown>,
    requiredIds: readonly string[],
    record: sendUnaryData<unknown>,
  ): Promise<void> {
    const request = call.request;
    if (request instanceof MalformedMessage) {
      record({ code: Status.INVALID_ARGUMENT, details: request.reason });
      call.emit('error', { code: Status.INVALID_ARGUMENT, details: request.reason });
      return;
    }
    if (missingId(request, requiredIds) !== null) {
      record(null, { status: MetaStatusCode.PARAM_ERROR });
      // grpc-js end() takes trailing metadata, not a message: write, then end.
      call.write({ status: MetaStatusCode.PARAM_ERROR, leaderHint: '' });
      call.end();
      return;
    }
    const context = this.context(name, call);
    let count = 0;
    try {
      for await (const reply of handler.serverStream(request, context.context)) {
        if (context.context.signal.aborted) break;
        if (count === 0) record(null, reply);
        count++;
        if (!call.write(reply)) await waitDrain(call, context.context.signal);
      }
      assert(count > 0 || context.context.signal.aborted, `${name} streamed no reply`);
      call.end();
    } catch (error) {
      const status = this.errorReply(name, error);
      if ('code' in status) {
        record(status);
        call.emit('error', status);
      } else {
        record(null, status);
        call.write(status);
        call.end();
      }
    } finally {
      context.dispose();
    }
  }

  private async runClientStream(
    name: string,
    call: ServerReadableStream<unknown, unknown>,
    callback: sendUnaryData<unknown>,
    handler: ClientStreamHandler<unknown, unknown>,
  ): Promise<void> {
    const context = this.context(name, call);
    async function* requests(): AsyncGenerator<unknown, void, undefined> {
      let isComplete = handler.isLastMessage === undefined;
      for await (const message of call as AsyncIterable<unknown>) {
        if (message instanceof MalformedMessage) throw new MalformedRequestError(message.reason);
        assert(!isComplete || handler.isLastMessage === undefined, `${name}: message after the last one`);
        if (handler.isLastMessage?.(message) === true) isComplete = true;
        yield message;
      }
      // A client cancel reaches grpc-js servers as an ordinary end of stream
      // first (and as 'cancelled' a moment later), so only a protocol-level
      // last-message marker tells a complete stream from a truncated one.
      if (!isComplete) throw new StreamCancelledError(`${name}: stream ended before its last message`);
    }
    try {
      const reply = await handler.clientStream(requests(), context.context);
      assert(reply !== undefined && reply !== null, `${name} returned no reply`);
      callback(null, reply);
    } catch (error) {
      if (error instanceof MalformedRequestError || error instanceof StreamCancelledError) {
        callback({ code: Status.INVALID_ARGUMENT, details: error.message });
        return;
      }
      const status = this.errorReply(name, error);
      if ('code' in status) callback(status);
      else callback(null, status);
    } finally {
      context.dispose();
    }
  }

  /**
   * A MetaError becomes a reply status (its message goes into errorMessage,
   * which replies that lack the field simply drop); anything else becomes
   * INTERNAL, logged here with its stack, details withheld from the client.
   */
  private errorReply(
    name: string,
    error: unknown,
  ): { status: MetaStatusCode; leaderHint: string; errorMessage: string } | { code: Status; details: string } {
    if (error instanceof MetaError) {
      return { status: error.status, leaderHint: error instanceof RedirectError ? error.leaderHint : '', errorMessage: error.message };
    }
    this.logger.error({ err: error, method: name }, 'rpc handler failed');
    return { code: Status.INTERNAL, details: `${name}: internal error` };
  }

  private context(
    method: string,
    call: { getPeer(): string; on(event: 'cancelled', listener: () => void): unknown; removeListener(event: 'cancelled', listener: () => void): unknown },
  ): { context: CallContext; dispose: () => void } {
    const controller = new AbortController();
    const onCancelled = (): void => controller.abort();
    call.on('cancelled', onCancelled);
    return {
      context: { method, peer: call.getPeer(), signal: controller.signal },
      dispose: () => call.removeListener('cancelled', onCancelled),
    };
  }
}

/** The first required id that is absent (0) or not a positive safe integer, or null. */
function missingId(request: unknown, requiredIds: readonly string[]): string | null {
  for (const field of requiredIds) {
    const value = (request as Record<string, unknown>)[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return field;
  }
  return null;
}

function waitDrain(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.removeListener('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
