import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Call, Reply, Send } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { ok, testCall } from '../../test/support/call.js';
import { hedge } from './hedge.js';
import { RetryBudget } from './retry-budget.js';

/** A send whose attempts are answered by the test, in any order. */
function controlled() {
  const attempts: Array<{ call: Call; resolve: (r: Reply) => void; reject: (e: unknown) => void }> = [];
  const send: Send = (call) => new Promise((resolve, reject) => attempts.push({ call, resolve, reject }));
  return { attempts, send };
}

/** Moves the injected clock past hedgeAfterMs. */
const waitFor = async (cond: () => boolean) => {
  await vi.advanceTimersByTimeAsync(10);
  expect(cond()).toBe(true);
};

describe('hedge policy', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a slow first attempt gets a hedge; the first good reply wins and the other is cancelled', async () => {
    const { attempts, send } = controlled();
    const pending = hedge({ afterMs: 5, budget: new RetryBudget(1) })(send)(testCall());
    await waitFor(() => attempts.length === 2);
    attempts[1]!.resolve(ok('hedge'));
    expect(((await pending).body as Buffer).toString()).toBe('hedge');
    expect(attempts[0]!.call.signal.aborted).toBe(true);
    expect(attempts[1]!.call.signal.aborted).toBe(false);
  });

  it('a failed attempt waits for the other one, which may still answer well', async () => {
    const { attempts, send } = controlled();
    const pending = hedge({ afterMs: 5, budget: new RetryBudget(1) })(send)(testCall());
    await waitFor(() => attempts.length === 2);
    attempts[0]!.resolve(ok('', 503));
    attempts[1]!.resolve(ok('fine'));
    expect((await pending).status).toBe(200);
  });

  it('when both fail, the last failure is the answer', async () => {
    const { attempts, send } = controlled();
    const pending = hedge({ afterMs: 5, budget: new RetryBudget(1) })(send)(testCall());
    await waitFor(() => attempts.length === 2);
    attempts[1]!.reject(new JunctionError('upstream_error', 'b'));
    attempts[0]!.reject(new JunctionError('upstream_error', 'a'));
    await expect(pending).rejects.toMatchObject({ message: 'a' });
  });

  it('a fast failure is returned at once (no hedge); without budget there is no hedge', async () => {
    const { attempts, send } = controlled();
    const pending = hedge({ afterMs: 5, budget: new RetryBudget(1) })(send)(testCall());
    attempts[0]!.resolve(ok('', 502));
    expect((await pending).status).toBe(502);
    expect(attempts).toHaveLength(1);

    const broke = controlled();
    const p2 = hedge({ afterMs: 1, budget: new RetryBudget(0, 0) })(broke.send)(testCall());
    await vi.advanceTimersByTimeAsync(10);
    expect(broke.attempts).toHaveLength(1);
    broke.attempts[0]!.resolve(ok());
    await p2;
  });
});
