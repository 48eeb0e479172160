// The request's two budgets (SPEC §3), one mechanism for every backend:
// `timeoutMs` until the reply starts and `replyTimeoutMs` for the whole
// reply, each capped by the caller's x-deadline-ms. `budgets` fixes both as
// absolute deadlines; the `deadline` policy enforces the first (504 on time
// even if a backend ignores the abort), `guardReply` (http/reply.ts) the second.
import { performance } from 'node:perf_hooks';
import type { Policy, Reply } from '../call/types.js';
import type { PolicyConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { AbortReason } from '../call/abort-reason.js';
import { discard } from './attempt.js';

/** The whole-reply budget when the config names none. */
export const DEFAULT_REPLY_TIMEOUT_MS = 60_000;

export interface Budgets {
  /** Absolute, performance.now() clock. */
  start: number;
  reply: number;
}

export function budgets(
  policy: Pick<PolicyConfig, 'timeoutMs' | 'replyTimeoutMs'>,
  arrived: number,
  callerMs: number | undefined,
): Budgets {
  const replyMs = policy.replyTimeoutMs ?? Math.max(policy.timeoutMs, DEFAULT_REPLY_TIMEOUT_MS);
  const startMs = callerMs === undefined ? policy.timeoutMs : Math.min(callerMs, policy.timeoutMs);
  return {
    start: arrived + startMs,
    reply: arrived + (callerMs === undefined ? replyMs : Math.min(callerMs, replyMs)),
  };
}

export const deadline: Policy = (next) => (call) => {
  const remaining = call.deadline - performance.now();
  const expired = () =>
    new JunctionError('deadline_exceeded', 'no answer within the deadline', { objective: call.objective.name });
  if (remaining <= 0) return Promise.reject(expired());
  return new Promise<Reply>((resolve, reject) => {
    let expiredAlready = false;
    const timer = setTimeout(() => {
      expiredAlready = true;
      call.abort(new AbortReason('start_deadline', 'no answer within the deadline'));
      reject(expired());
    }, remaining);
    next(call).then(
      (reply) => {
        clearTimeout(timer);
        // A backend that ignored the abort answered late: nobody will read this
        // reply, so close it, or its socket (and any slot held until it closes) stays taken.
        if (expiredAlready) discard(reply);
        else resolve(reply);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
};
