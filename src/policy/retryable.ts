// What a second attempt may cure: the backend could not be reached or said
// it was unavailable. Never retried: the caller's own errors (4xx), an expired
// budget, a body over its limit, or a call that was cancelled.
import type { Reply } from '../call/types.js';
import { isJunctionError } from '../errors.js';

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([502, 503, 504]);

export function retryableReply(reply: Reply): boolean {
  return RETRYABLE_STATUS.has(reply.status);
}

export function retryableError(err: unknown): boolean {
  return isJunctionError(err) && (err.code === 'upstream_error' || err.code === 'no_healthy_backend');
}
