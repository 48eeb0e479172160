// One attempt of a call (a retry, a hedge, a fallback target) with its own
// abort: cancelling a hedge loser must not cancel the whole call, while the
// call's own abort (caller gone, deadline) still reaches every attempt.
import type { Readable } from 'node:stream';
import type { Call, Reply } from '../call/types.js';
import { withCall } from '../call/types.js';
import { Cancellation } from '../call/cancel.js';

export interface Attempt {
  readonly call: Call;
  /** Cancels this attempt only. */
  cancel(reason: unknown): void;
}

export function attempt(call: Call, changes: Partial<Call> = {}): Attempt {
  const controller = Cancellation.under(call.signal);
  const cancel = (reason: unknown) => controller.abort(reason);
  // Backends stamp x-request-id / x-deadline-ms on the headers they are given:
  // concurrent attempts each get their own copy.
  return {
    call: withCall(call, { ...changes, headers: { ...call.headers }, signal: controller.signal, abort: cancel }),
    cancel,
  };
}

/** A reply that lost (a retried 5xx, a hedge loser): free its socket without reading it. */
export function discard(reply: Reply): void {
  const body = reply.body;
  if (body !== null && !Buffer.isBuffer(body)) destroyQuietly(body);
}

/**
 * undici's body emits an AbortError when destroyed unread; with no listener
 * that would be an uncaught exception, so one is added first.
 */
export function destroyQuietly(body: Readable): void {
  body.on('error', ignore);
  body.destroy();
}

function ignore(): void {}
