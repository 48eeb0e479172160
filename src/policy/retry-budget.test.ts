import { describe, expect, it } from 'vitest';
import { ok, testCall } from '../../test/support/call.js';
import { earnRetryBudget, RetryBudget } from './retry-budget.js';

describe('retry budget', () => {
  it('starts with a small reserve so a quiet objective can still retry', () => {
    const b = new RetryBudget(0.2, 10);
    let spent = 0;
    while (b.tryWithdraw()) spent++;
    expect(spent).toBe(30); // reserve 10 + 0.2 × 100
  });

  it('once spent, allows retries only as a share of live requests', () => {
    const b = new RetryBudget(0.1, 0);
    while (b.tryWithdraw());
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      b.deposit();
      if (b.tryWithdraw()) retries++;
    }
    expect(retries).toBeGreaterThanOrEqual(99);
    expect(retries).toBeLessThanOrEqual(100);
  });

  it('a ratio of zero never retries', () => {
    const b = new RetryBudget(0);
    for (let i = 0; i < 100; i++) b.deposit();
    expect(b.tryWithdraw()).toBe(false);
  });

  it('the balance is capped: a long calm does not bank an unbounded burst of retries', () => {
    const b = new RetryBudget(0.5, 0);
    for (let i = 0; i < 100_000; i++) b.deposit();
    expect(b.available).toBe(50);
  });
});

describe('earnRetryBudget', () => {
  it('every call deposits once, so a policy that only spends (hedge) keeps being paid for', async () => {
    const b = new RetryBudget(0.5, 0);
    while (b.tryWithdraw());
    const send = earnRetryBudget(b)(async () => ok());
    await send(testCall());
    await send(testCall());
    expect(b.tryWithdraw()).toBe(true); // two calls × 0.5 earned one token
    expect(b.tryWithdraw()).toBe(false);
  });
});
