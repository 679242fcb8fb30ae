/**
 * What to do after one attempt. Pure: the RpcClient feeds it the outcome and
 * acts on the decision (return, fail, or retry where). Retryable:
 * - replies with status REDIRECTED / NOT_LEADER (follow the hint, or try the
 *   next address) and OVERLOAD (back off, same address);
 * - gRPC UNAVAILABLE (next address), RESOURCE_EXHAUSTED (back off) unless it
 *   says the message is too large, and DEADLINE_EXCEEDED only for idempotent
 *   calls (a non-idempotent request may have been applied).
 * Everything else is final: expected reply statuses (NOT_FOUND, EXIST, ...)
 * are returned to the caller as values, other gRPC errors fail the call.
 */
import { status as Status } from '@grpc/grpc-js';
import { MetaStatusCode } from '../common/meta-status.js';
import { isAddress, isRedirectStatus } from './leader-redirect.js';

export type AttemptOutcome =
  | { readonly kind: 'reply'; readonly status: MetaStatusCode; readonly leaderHint: string }
  | { readonly kind: 'grpc-error'; readonly code: Status; readonly details: string };

export type RetryDecision =
  | { readonly action: 'return' }
  | { readonly action: 'fail' }
  | { readonly action: 'follow-leader'; readonly address: string }
  | { readonly action: 'next-address' }
  | { readonly action: 'same-address' };

const RETURN: RetryDecision = { action: 'return' };
const FAIL: RetryDecision = { action: 'fail' };
const NEXT: RetryDecision = { action: 'next-address' };
const SAME: RetryDecision = { action: 'same-address' };

export function decideRetry(outcome: AttemptOutcome, isIdempotent: boolean): RetryDecision {
  if (outcome.kind === 'reply') {
    if (isRedirectStatus(outcome.status)) {
      return isAddress(outcome.leaderHint) ? { action: 'follow-leader', address: outcome.leaderHint } : NEXT;
    }
    if (outcome.status === MetaStatusCode.OVERLOAD) return SAME;
    return RETURN;
  }
  switch (outcome.code) {
    case Status.UNAVAILABLE:
      return NEXT;
    case Status.DEADLINE_EXCEEDED:
      return isIdempotent ? NEXT : FAIL;
    case Status.RESOURCE_EXHAUSTED:
      // grpc-js reports an oversized message this way; sending it again cannot help.
      return /larger than max/i.test(outcome.details) ? FAIL : SAME;
    default:
      return FAIL;
  }
}
