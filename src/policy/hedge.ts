// Hedged requests for idempotent objectives: when the first attempt has not
// answered after `hedgeAfterMs`, a second one goes out (the backend's
// power-of-two-choices prefers the less loaded endpoint, so another replica).
// The first good reply wins; the other attempt is cancelled. A hedge is paid
// from the retry budget, so hedging cannot double the load during an outage.
import type { Policy, Reply } from '../call/types.js';
import { AbortReason } from '../call/abort-reason.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { attempt, discard, type Attempt } from './attempt.js';
import type { RetryBudget } from './retry-budget.js';
import { retryableReply } from './retryable.js';

export interface HedgeOptions {
  afterMs: number;
  budget: RetryBudget;
  /** Where hedges are counted (the Junction's sink). */
  telemetry?: Telemetry;
}

type Result = { reply: Reply; err?: undefined } | { reply?: undefined; err: unknown };

export function hedge(opts: HedgeOptions): Policy {
  return (next) => (call) =>
    new Promise<Reply>((resolve, reject) => {
      const attempts: Attempt[] = [];
      let pending = 0;
      let settled = false;
      let held: Reply | undefined; // a failed reply kept while the other attempt may still win

      const finish = (winner: Attempt, result: Result) => {
        settled = true;
        clearTimeout(timer);
        for (const a of attempts) {
          if (a !== winner) a.cancel(new AbortReason('superseded', 'hedge lost: another attempt answered first'));
        }
        if (held !== undefined && held !== result.reply) discard(held);
        if (result.reply !== undefined) resolve(result.reply);
        else reject(result.err);
      };

      const settle = (a: Attempt, result: Result) => {
        pending--;
        if (settled) {
          if (result.reply !== undefined) discard(result.reply);
          return;
        }
        const good = result.reply !== undefined && !retryableReply(result.reply);
        if (!good && pending > 0) {
          // The other attempt may still answer well: keep this failure for later.
          if (result.reply !== undefined) {
            if (held !== undefined) discard(held);
            held = result.reply;
          }
          return;
        }
        finish(a, result);
      };

      const launch = () => {
        const a = attempt(call);
        attempts.push(a);
        pending++;
        next(a.call).then(
          (reply) => settle(a, { reply }),
          (err: unknown) => settle(a, { err }),
        );
      };

      const timer = setTimeout(() => {
        if (settled || call.signal.aborted || !opts.budget.tryWithdraw()) return;
        (opts.telemetry ?? NO_TELEMETRY).hedge(call.objective.name, call.target.id);
        launch();
      }, opts.afterMs);
      launch();
    });
}
