import { describe, expect, it } from 'vitest';
import type { Call, Send } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { ok, testCall } from '../../test/support/call.js';
import { retry } from './retry.js';
import { RetryBudget } from './retry-budget.js';

const upstreamError = () => new JunctionError('upstream_error', 'refused');

describe('retry policy', () => {
  it('retries thrown upstream errors and retryable statuses, up to `retries`', async () => {
    const seen: Call[] = [];
    let n = 0;
    const send: Send = async (call) => {
      seen.push(call);
      n++;
      if (n === 1) throw upstreamError();
      if (n === 2) return ok('', 503);
      return ok('third');
    };
    const reply = await retry({ retries: 2, budget: new RetryBudget(0.2), backoffMs: 0 })(send)(testCall());
    expect((reply.body as Buffer).toString()).toBe('third');
    expect(seen).toHaveLength(3);
    expect(seen[1]!.signal).not.toBe(seen[0]!.signal); // each retry has its own abort
  });

  it('gives up after `retries` with the last failure', async () => {
    const send: Send = async () => {
      throw upstreamError();
    };
    await expect(
      retry({ retries: 1, budget: new RetryBudget(0.2), backoffMs: 0 })(send)(testCall()),
    ).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it("never retries the caller's errors or a 4xx", async () => {
    let n = 0;
    const bad: Send = async () => {
      n++;
      throw new JunctionError('payload_too_large', 'big');
    };
    await expect(
      retry({ retries: 3, budget: new RetryBudget(1), backoffMs: 0 })(bad)(testCall()),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
    const four: Send = async () => {
      n++;
      return ok('', 404);
    };
    expect((await retry({ retries: 3, budget: new RetryBudget(1), backoffMs: 0 })(four)(testCall())).status).toBe(404);
    expect(n).toBe(2);
  });

  it('an empty budget stops retries: an outage is not multiplied', async () => {
    const budget = new RetryBudget(0, 0);
    let n = 0;
    const send: Send = async () => {
      n++;
      return ok('', 503);
    };
    const policy = retry({ retries: 3, budget, backoffMs: 0 })(send);
    for (let i = 0; i < 10; i++) expect((await policy(testCall())).status).toBe(503);
    expect(n).toBe(10);
  });

  it('a cancelled call is not retried', async () => {
    const call = testCall();
    let n = 0;
    const send: Send = async () => {
      n++;
      call.abort(new Error('gone'));
      throw upstreamError();
    };
    await expect(retry({ retries: 3, budget: new RetryBudget(1), backoffMs: 0 })(send)(call)).rejects.toBeDefined();
    expect(n).toBe(1);
  });
});
