// A retry budget (Finagle's idea): every live request deposits `ratio` of a
// token, every retry or hedge withdraws a whole one. In steady state at most
// `ratio` extra requests per request reach the backends, so during an outage
// retries add a bounded share of load instead of multiplying it. The balance
// starts full (and is capped) so a quiet objective can still retry a few times.
import type { Policy } from '../call/types.js';

export class RetryBudget {
  private balance: number;
  private cap: number;

  constructor(
    private ratio: number,
    private readonly reserve = 10,
  ) {
    this.cap = Math.max(1, reserve + ratio * 100);
    this.balance = ratio === 0 ? 0 : this.cap;
  }

  /** A config revision changed the ratio: the balance carries over, within the new cap. */
  setRatio(ratio: number): void {
    if (ratio === this.ratio) return;
    this.ratio = ratio;
    this.cap = Math.max(1, this.reserve + ratio * 100);
    this.balance = ratio === 0 ? 0 : Math.min(this.balance, this.cap);
  }

  /** One live request went out. */
  deposit(): void {
    if (this.balance < this.cap) this.balance = Math.min(this.cap, this.balance + this.ratio);
  }

  /** True (and a token spent) when one more attempt may be sent. */
  tryWithdraw(): boolean {
    if (this.balance < 1) return false;
    this.balance -= 1;
    return true;
  }

  get available(): number {
    return this.balance;
  }
}

/**
 * Every call earns its share of the budget once, whichever policies spend it
 * (retry, hedge): composed outside both, so a hedge-only objective refills too.
 */
export function earnRetryBudget(budget: RetryBudget): Policy {
  return (next) => (call) => {
    budget.deposit();
    return next(call);
  };
}
