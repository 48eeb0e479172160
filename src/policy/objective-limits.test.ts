import { describe, expect, it } from 'vitest';
import { Policy } from '../config/schema.js';
import { ObjectiveLimits } from './objective-limits.js';

const policy = (p: object) => Policy.parse(p);

describe('objective limits across revisions', () => {
  it('hands every revision the same bulkhead and budget; limits change when a revision is adopted', async () => {
    const limits = new ObjectiveLimits();
    const old = limits.acquire('obj', policy({ maxConcurrency: 1, maxQueue: 1 }));
    limits.adopt('obj', policy({ maxConcurrency: 1, maxQueue: 1 }));
    const held = await old.bulkhead!.acquire();
    const queued = old.bulkhead!.acquire();

    const next = limits.acquire('obj', policy({ maxConcurrency: 2, maxQueue: 1, retryBudget: 0 }));
    expect(next.bulkhead).toBe(old.bulkhead);
    expect(next.budget).toBe(old.budget);
    expect(next.bulkhead!.limit).toBe(1); // prepared, not live yet
    expect(next.budget.tryWithdraw()).toBe(true);

    limits.adopt('obj', policy({ maxConcurrency: 2, maxQueue: 1, retryBudget: 0 }));
    (await queued)(); // the raised limit admitted the waiting call
    expect(next.budget.tryWithdraw()).toBe(false);
    held();
  });

  it('drops an objective once no revision uses it', () => {
    const limits = new ObjectiveLimits();
    limits.acquire('obj', policy({}));
    limits.acquire('obj', policy({}));
    limits.release('obj');
    expect(limits.size).toBe(1);
    limits.release('obj');
    expect(limits.size).toBe(0);
  });
});
