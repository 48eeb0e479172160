// Retries for idempotent objectives: up to `retries` more attempts on a
// retryable failure, each paid from the objective's retry budget (earned by
// retry-budget.ts `earnRetryBudget`, composed outside), with a short
// jittered backoff that never outlives the deadline.
import { performance } from 'node:perf_hooks';
import type { CancelSignal } from '../call/cancel.js';
import type { Policy, Reply } from '../call/types.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { attempt, discard } from './attempt.js';
import type { RetryBudget } from './retry-budget.js';
import { retryableError, retryableReply } from './retryable.js';

export interface RetryOptions {
  retries: number;
  budget: RetryBudget;
  /** Where retries are counted (the Junction's sink). */
  telemetry?: Telemetry;
  /** Base backoff; attempt n waits a random share of base × 2^n. */
  backoffMs?: number;
}

export function retry(opts: RetryOptions): Policy {
  const base = opts.backoffMs ?? 10;
  const telemetry = opts.telemetry ?? NO_TELEMETRY;
  return (next) => async (call) => {
    for (let n = 0; ; n++) {
      const last = n >= opts.retries;
      let reply: Reply;
      try {
        reply = await next(n === 0 ? call : attempt(call).call);
      } catch (err) {
        if (last || !retryableError(err) || !mayRetry(call.signal, call.deadline, opts.budget)) throw err;
        await backoff(base, n, call.deadline, call.signal);
        telemetry.retry(call.objective.name, call.target.id);
        continue;
      }
      if (last || !retryableReply(reply) || !mayRetry(call.signal, call.deadline, opts.budget)) return reply;
      discard(reply);
      await backoff(base, n, call.deadline, call.signal);
      telemetry.retry(call.objective.name, call.target.id);
    }
  };
}

function mayRetry(signal: CancelSignal, deadline: number, budget: RetryBudget): boolean {
  return !signal.aborted && deadline - performance.now() > 0 && budget.tryWithdraw();
}

async function backoff(base: number, n: number, deadline: number, signal: CancelSignal): Promise<void> {
  const wait = Math.min(Math.random() * base * 2 ** n, Math.max(0, deadline - performance.now() - 1));
  if (wait >= 1) await waitUnlessAborted(wait, signal);
}

/** Resolves after `ms`, or at once when `signal` aborts (the next attempt then sees it and stops). */
function waitUnlessAborted(ms: number, signal: CancelSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
