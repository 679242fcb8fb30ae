/**
 * RpcClient: calls one replicated gRPC service (the MDS cluster, a copyset's
 * metaservers, a raft peer) with the policies every caller needs, so no
 * caller writes its own retry loop:
 * - a deadline on every attempt (timeoutMs) and on the whole call including
 *   retries (totalTimeoutMs);
 * - retries per retry-policy.ts, with exponential backoff and jitter from the
 *   injected Random, bounded by maxAttempts and the total deadline;
 * - leader redirection: a REDIRECTED/NOT_LEADER reply with a hint moves the
 *   call (and later calls) to that address; without a hint, to the next
 *   known address; an unreachable address is skipped the same way;
 * - cancellation with an AbortSignal.
 * A call returns the reply whatever its status unless the status is a
 * retryable one that outlived the retries (then MetaError); transport
 * failures throw RpcError. Use callOk() to turn any non-OK status into
 * MetaError.
 */
import { Metadata, status as Status, type ClientReadableStream, type MethodDefinition } from '@grpc/grpc-js';
import { assert } from '../common/assert.js';
import { MonotonicClock, type Clock } from '../common/clock.js';
import { CurveError, MetaError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { MetaStatusCode } from '../common/meta-status.js';
import { SystemRandom, type Random } from '../common/random.js';
import type { Method, MessageInit, TypedService } from '../proto/index.js';
import { abortableSleep } from './abortable-sleep.js';
import { ExponentialBackoff, type BackoffOptions } from './backoff.js';
import { ChannelPool } from './channel-pool.js';
import { Deadline, TIMEOUT_DEFAULT_MS, TOTAL_TIMEOUT_DEFAULT_MS } from './deadline.js';
import { LeaderTracker } from './leader-tracker.js';
import { isRedirectStatus } from './leader-redirect.js';
import { decideRetry, type AttemptOutcome } from './retry-policy.js';
import { errorCodeForGrpcStatus, isGrpcFailure, RpcError } from './rpc-error.js';
import { rpcMetrics, type RpcMetrics } from './rpc-metrics.js';

export const ATTEMPTS_DEFAULT_MAX = 10;

export interface RpcClientOptions<M> {
  /** "host:port" of every replica; at least one. */
  readonly addresses: readonly string[];
  /** Deadline of one attempt. Default 5 s. */
  readonly timeoutMs?: number;
  /** Deadline of a whole call, retries included. Default 20 s. */
  readonly totalTimeoutMs?: number;
  /** Attempts per call, the first included. Default 10. */
  readonly maxAttempts?: number;
  readonly backoff?: Partial<BackoffOptions>;
  /** Jitter source. Default SystemRandom; tests pass a SeededRandom. */
  readonly random?: Random;
  /** Measures the total deadline. Default MonotonicClock. */
  readonly clock?: Clock;
  /** Methods safe to repeat after DEADLINE_EXCEEDED (reads). Others fail on a timeout. */
  readonly idempotentMethods?: readonly (keyof M & string)[];
  /** A pool shared with other clients; not closed by close(). Default: a pool of its own. */
  readonly channels?: ChannelPool;
  /** Message size limit of its own pool (bytes). Default 16 MiB. */
  readonly maxMessageBytes?: number;
  readonly logger?: Logger;
  /** Default: the process-wide RpcMetrics (src/common/metrics.ts registry). */
  readonly metrics?: RpcMetrics;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly maxAttempts?: number;
  /** Overrides idempotentMethods for this call. */
  readonly isIdempotent?: boolean;
  readonly signal?: AbortSignal;
  /**
   * Send to this address only: no redirection (a REDIRECTED reply is returned
   * as a value), retries stay on it. For admin calls to one replica.
   */
  readonly address?: string;
}

export type RequestOf<M, K extends keyof M> = M[K] extends Method<infer Req, unknown> ? Req : never;
export type ResponseOf<M, K extends keyof M> = M[K] extends Method<unknown, infer Res> ? Res : never;

/** One attempt's outcome plus, when it produced one, the value the call returns. */
interface AttemptResult<T> {
  readonly outcome: AttemptOutcome;
  readonly value?: T;
  /** Frees what the attempt holds when it is not the one returned (an open stream). */
  readonly release?: () => void;
}

interface CallPlan {
  readonly method: string;
  readonly timeoutMs: number;
  readonly deadline: Deadline;
  readonly maxAttempts: number;
  readonly isIdempotent: boolean;
  readonly signal: AbortSignal | undefined;
  readonly pinned: string | undefined;
}

export class RpcClient<M extends { [K in keyof M]: Method<unknown, unknown> }> {
  private readonly tracker: LeaderTracker;
  private readonly channels: ChannelPool;
  private readonly ownsChannels: boolean;
  private readonly backoff: ExponentialBackoff;
  private readonly clock: Clock;
  private readonly idempotent: ReadonlySet<string>;
  private readonly timeoutMs: number;
  private readonly totalTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly logger: Logger;
  private readonly metrics: RpcMetrics;
  private isClosed = false;

  constructor(
    readonly service: TypedService<M>,
    options: RpcClientOptions<M>,
  ) {
    this.tracker = new LeaderTracker(options.addresses);
    this.ownsChannels = options.channels === undefined;
    this.channels =
      options.channels ?? new ChannelPool(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes });
    this.backoff = new ExponentialBackoff(options.backoff ?? {}, options.random ?? new SystemRandom());
    this.clock = options.clock ?? new MonotonicClock();
    this.idempotent = new Set(options.idempotentMethods ?? []);
    this.timeoutMs = options.timeoutMs ?? TIMEOUT_DEFAULT_MS;
    this.totalTimeoutMs = options.totalTimeoutMs ?? TOTAL_TIMEOUT_DEFAULT_MS;
    this.maxAttempts = options.maxAttempts ?? ATTEMPTS_DEFAULT_MAX;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? rpcMetrics();
    assert(this.timeoutMs > 0 && this.totalTimeoutMs > 0, 'timeouts must be positive');
    assert(Number.isSafeInteger(this.maxAttempts) && this.maxAttempts >= 1, `maxAttempts ${this.maxAttempts}`);
    for (const name of this.idempotent) assert(name in service.definition, `unknown method ${name}`);
  }

  /** Where the next call goes first (the believed leader). */
  leaderAddress(): string {
    return this.tracker.current();
  }

  knownAddresses(): readonly string[] {
    return this.tracker.known();
  }

  /** Replaces the replica set (e.g. after a membership change); keeps the leader if still in it. */
  setAddresses(addresses: readonly string[]): void {
    this.tracker.setAddresses(addresses);
  }

  /** Records a leader learned elsewhere (e.g. from the MDS's copyset info). */
  setLeader(address: string): void {
    this.tracker.follow(address);
  }

  /** A unary call. Returns the reply for any non-retryable status; throws RpcError or MetaError. */
  async call<K extends keyof M & string>(
    method: K,
    request: MessageInit<RequestOf<M, K>>,
    options: CallOptions = {},
  ): Promise<ResponseOf<M, K>> {
    const definition = this.methodDefinition(method, false, false);
    const plan = this.plan(method, options);
    return this.withRetries(plan, (address, timeoutMs) => this.unaryAttempt<ResponseOf<M, K>>(address, definition, request, timeoutMs, plan.signal));
  }

  /** Like call(), but any status other than OK throws MetaError (for callers with no expected failures). */
  async callOk<K extends keyof M & string>(
    method: K,
    request: MessageInit<RequestOf<M, K>>,
    options: CallOptions = {},
  ): Promise<ResponseOf<M, K>> {
    const reply = await this.call(method, request, options);
    const status = statusOf(reply);
    if (status !== MetaStatusCode.OK) {
      const detail = (reply as { errorMessage?: unknown }).errorMessage;
      const suffix = typeof detail === 'string' && detail !== '' ? `: ${detail}` : '';
      throw new MetaError(status, `${method}: ${MetaStatusCode[status] ?? status}${suffix}`);
    }
    return reply;
  }

  /**
   * A server-streaming call. Retries and redirects happen until the first
   * reply arrives (a redirect arrives as the first reply); after that,
   * messages are yielded as they come and a failure throws RpcError. The
   * whole stream shares one deadline: timeoutMs.
   */
  async *serverStream<K extends keyof M & string>(
    method: K,
    request: MessageInit<RequestOf<M, K>>,
    options: CallOptions = {},
  ): AsyncGenerator<ResponseOf<M, K>, void, undefined> {
    const definition = this.methodDefinition(method, false, true);
    const plan = this.plan(method, options);
    const opened = await this.withRetries(plan, (address, timeoutMs) =>
      this.streamAttempt<ResponseOf<M, K>>(address, definition, request, timeoutMs, plan.signal),
    );
    try {
      yield opened.first;
      while (true) {
        const next = await opened.iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } catch (error) {
      throw this.streamError(method, opened.address, error);
    } finally {
      opened.call.cancel();
    }
  }

  /**
   * A client-streaming call to one address (options.address, else the
   * leader), one attempt: the request stream cannot be replayed. Writes wait
   * for the channel to drain (backpressure).
   */
  async clientStream<K extends keyof M & string>(
    method: K,
    requests: AsyncIterable<MessageInit<RequestOf<M, K>>> | Iterable<MessageInit<RequestOf<M, K>>>,
    options: Pick<CallOptions, 'timeoutMs' | 'signal' | 'address'> = {},
  ): Promise<ResponseOf<M, K>> {
    const definition = this.methodDefinition(method, true, false);
    assert(!this.isClosed, 'client is closed');
    const address = options.address ?? this.tracker.current();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let settle!: (result: { error: unknown } | { reply: ResponseOf<M, K> }) => void;
    const result = new Promise<{ error: unknown } | { reply: ResponseOf<M, K> }>((resolve) => (settle = resolve));
    const call = this.channels
      .get(address)
      .makeClientStreamRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize as (bytes: Buffer) => ResponseOf<M, K>,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, reply) => settle(error ? { error } : { reply: reply as ResponseOf<M, K> }),
      );
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let isDone = false;
      void result.then(() => (isDone = true));
      try {
        for await (const message of requests) {
          if (isDone) break;
          if (!call.write(message)) {
            await Promise.race([new Promise((resolve) => call.once('drain', resolve)), result]);
          }
        }
      } catch (error) {
        // The request source failed: abandon the call rather than send a truncated stream.
        call.cancel();
        throw error;
      }
      call.end();
      const outcome = await result;
      if ('error' in outcome) throw this.streamError(method, address, outcome.error);
      return outcome.reply;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the channels this client owns. Later calls fail an assertion. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.ownsChannels) this.channels.close();
  }

  private methodDefinition(method: string, isRequestStream: boolean, isResponseStream: boolean): MethodDefinition<unknown, unknown> {
    const definition = this.service.definition[method];
    assert(definition !== undefined, `${this.service.name} has no method ${method}`);
    assert(definition.requestStream === isRequestStream, `${method}: requestStream is ${definition.requestStream}`);
    assert(definition.responseStream === isResponseStream, `${method}: responseStream is ${definition.responseStream}`);
    return definition;
  }

  private plan(method: string, options: CallOptions): CallPlan {
    assert(!this.isClosed, 'client is closed');
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const totalTimeoutMs = options.totalTimeoutMs ?? this.totalTimeoutMs;
    const maxAttempts = options.maxAttempts ?? this.maxAttempts;
    assert(timeoutMs > 0 && totalTimeoutMs > 0, 'timeouts must be positive');
    assert(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1, `maxAttempts ${maxAttempts}`);
    return {
      method,
      timeoutMs,
      deadline: Deadline.after(totalTimeoutMs, this.clock),
      maxAttempts,
      isIdempotent: options.isIdempotent ?? this.idempotent.has(method),
      signal: options.signal,
      pinned: options.address,
    };
  }

  /** The retry loop shared by unary and server-streaming calls, measured. */
  private async withRetries<T>(
    plan: CallPlan,
    attempt: (address: string, timeoutMs: number) => Promise<AttemptResult<T>>,
  ): Promise<T> {
    const labels = { service: this.service.name, method: plan.method };
    const stopTimer = this.metrics.clientSeconds.startTimer(labels);
    try {
      const value = await this.retryLoop(plan, attempt);
      this.metrics.clientCalls.inc({ ...labels, result: 'ok' });
      return value;
    } catch (error) {
      const result = error instanceof MetaError ? 'meta_error' : errorLabel(error);
      this.metrics.clientCalls.inc({ ...labels, result });
      throw error;
    } finally {
      stopTimer();
    }
  }

  private async retryLoop<T>(
    plan: CallPlan,
    attempt: (address: string, timeoutMs: number) => Promise<AttemptResult<T>>,
  ): Promise<T> {
    const triedSinceSleep = new Set<string>();
    let retries = 0;
    let last: { outcome: AttemptOutcome; address: string } | null = null;
    for (let attempts = 1; ; attempts++) {
      if (isAborted(plan.signal)) throw this.cancelled(plan, attempts - 1);
      const remainingMs = plan.deadline.remainingMs(this.clock);
      if (remainingMs === 0) throw this.exhausted(plan, last, attempts - 1, 'deadline');
      const address = plan.pinned ?? this.tracker.current();
      triedSinceSleep.add(address);
      const result = await attempt(address, Math.min(plan.timeoutMs, remainingMs));
      last = { outcome: result.outcome, address };
      let decision = decideRetry(result.outcome, plan.isIdempotent);
      if (plan.pinned !== undefined && decision.action !== 'fail' && result.outcome.kind === 'reply') {
        // The caller asked this replica on purpose: its redirect is the answer.
        if (decision.action !== 'same-address') decision = { action: 'return' };
      }
      if (decision.action === 'return') {
        if (plan.pinned === undefined) this.tracker.succeeded(address);
        assert(result.value !== undefined, 'a returned attempt carries a value');
        return result.value;
      }
      result.release?.();
      if (decision.action === 'fail') {
        if (isAborted(plan.signal)) throw this.cancelled(plan, attempts);
        throw this.failure(plan, last, attempts);
      }
      if (attempts >= plan.maxAttempts) throw this.exhausted(plan, last, attempts, 'attempts');
      let shouldSleep: boolean;
      if (decision.action === 'follow-leader') {
        const moved = plan.pinned === undefined && this.tracker.follow(decision.address);
        shouldSleep = !moved || triedSinceSleep.has(decision.address);
      } else if (decision.action === 'next-address') {
        if (plan.pinned === undefined) this.tracker.failed(address);
        shouldSleep = triedSinceSleep.has(plan.pinned ?? this.tracker.current());
      } else {
        shouldSleep = true;
      }
      this.logger.debug({ method: plan.method, address, attempts, decision: decision.action }, 'rpc retry');
      this.metrics.clientRetries.inc({ service: this.service.name, method: plan.method, reason: decision.action });
      if (!shouldSleep) continue;
      triedSinceSleep.clear();
      const delayMs = this.backoff.delayMs(retries++);
      if (delayMs >= plan.deadline.remainingMs(this.clock)) throw this.exhausted(plan, last, attempts, 'deadline');
      const isSlept = await abortableSleep(delayMs, plan.signal);
      if (!isSlept) throw this.cancelled(plan, attempts);
    }
  }

  private unaryAttempt<T>(
    address: string,
    definition: MethodDefinition<unknown, unknown>,
    request: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<AttemptResult<T>> {
    return new Promise((resolve) => {
      const onAbort = (): void => call.cancel();
      const call = this.channels
        .get(address)
        .makeUnaryRequest(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          request,
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (error, reply) => {
            signal?.removeEventListener('abort', onAbort);
            if (error) {
              resolve({ outcome: { kind: 'grpc-error', code: error.code, details: error.details ?? '' } });
            } else {
              resolve({ outcome: replyOutcome(reply), value: reply as T });
            }
          },
        );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async streamAttempt<T>(
    address: string,
    definition: MethodDefinition<unknown, unknown>,
    request: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<AttemptResult<OpenStream<T>>> {
    const call = this.channels
      .get(address)
      .makeServerStreamRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
      ) as ClientReadableStream<T>;
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    call.once('close', () => signal?.removeEventListener('abort', onAbort));
    const iterator = call[Symbol.asyncIterator]() as AsyncIterator<T>;
    try {
      const first = await iterator.next();
      if (first.done) {
        // Every stream starts with a message carrying the status (RpcServer
        // guarantees it); an empty one breaks that contract.
        call.cancel();
        return { outcome: { kind: 'grpc-error', code: Status.INTERNAL, details: 'stream ended without a reply' } };
      }
      return {
        outcome: replyOutcome(first.value),
        value: { first: first.value, iterator, call, address },
        release: () => call.cancel(),
      };
    } catch (error) {
      call.cancel();
      if (isGrpcFailure(error)) return { outcome: { kind: 'grpc-error', code: error.code, details: error.details } };
      throw error;
    }
  }

  private streamError(method: string, address: string, error: unknown): Error {
    if (error instanceof RpcError) return error;
    if (isGrpcFailure(error)) {
      return new RpcError(
        errorCodeForGrpcStatus(error.code),
        `${this.service.name}/${method} to ${address}: ${Status[error.code]} ${error.details}`,
        error.code,
        1,
        { cause: error },
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  private cancelled(plan: CallPlan, attempts: number): RpcError {
    return new RpcError('CURVEFS_ERR_CANCELLED', `${this.service.name}/${plan.method}: cancelled`, Status.CANCELLED, attempts);
  }

  private failure(plan: CallPlan, last: { outcome: AttemptOutcome; address: string }, attempts: number): Error {
    const outcome = last.outcome;
    assert(outcome.kind === 'grpc-error', 'only transport errors fail without retry');
    return new RpcError(
      errorCodeForGrpcStatus(outcome.code),
      `${this.service.name}/${plan.method} to ${last.address}: ${Status[outcome.code]} ${outcome.details}`,
      outcome.code,
      attempts,
    );
  }

  private exhausted(
    plan: CallPlan,
    last: { outcome: AttemptOutcome; address: string } | null,
    attempts: number,
    why: 'attempts' | 'deadline',
  ): Error {
    const what = `${this.service.name}/${plan.method}: gave up after ${attempts} attempt(s) (${why})`;
    if (last === null) return new RpcError('CURVEFS_ERR_DEADLINE', `${what} before any attempt`, Status.DEADLINE_EXCEEDED, 0);
    const outcome = last.outcome;
    if (outcome.kind === 'reply') {
      return new MetaError(outcome.status, `${what}; last reply ${MetaStatusCode[outcome.status]} from ${last.address}`);
    }
    return new RpcError(
      errorCodeForGrpcStatus(outcome.code),
      `${what}; last error ${Status[outcome.code]} from ${last.address}: ${outcome.details}`,
      outcome.code,
      attempts,
    );
  }
}

interface OpenStream<T> {
  readonly first: T;
  readonly iterator: AsyncIterator<T>;
  readonly call: ClientReadableStream<T>;
  readonly address: string;
}

/** The metrics label of a thrown error: its CurveError code, lower-cased without the prefix. */
function errorLabel(error: unknown): string {
  return CurveError.is(error) ? error.code.replace(/^CURVEFS_ERR_/, '').toLowerCase() : 'other';
}

/** A function, not an inline check: TypeScript would keep a narrowing across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Replies without a status field (raft transport) count as OK. */
function statusOf(reply: unknown): MetaStatusCode {
  const status = (reply as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? (status as MetaStatusCode) : MetaStatusCode.OK;
}

function replyOutcome(reply: unknown): AttemptOutcome {
  const status = statusOf(reply);
  const hint = (reply as { leaderHint?: unknown } | null)?.leaderHint;
  return { kind: 'reply', status, leaderHint: isRedirectStatus(status) && typeof hint === 'string' ? hint : '' };
}
