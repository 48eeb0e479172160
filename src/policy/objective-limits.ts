// An objective's bulkhead and retry budget outlive config revisions: while a
// new revision takes over, calls still running on the old one hold slots of
// the same bulkhead the new one admits into, so an apply never lets an
// objective run more than its `maxConcurrency`, nor refills its retry budget.
// Owned by the Runtime, keyed by objective name, counted by the revisions that
// use it; a revision that goes live sets the limits (`adopt`), and the entry is
// dropped once no revision uses the objective.
import type { ObjectiveConfig } from '../config/schema.js';
import { Bulkhead } from './bulkhead.js';
import { RetryBudget } from './retry-budget.js';

type Policy = ObjectiveConfig['policy'];

export interface ObjectiveState {
  /** Undefined until some revision gives the objective a `maxConcurrency`. */
  bulkhead: Bulkhead | undefined;
  readonly budget: RetryBudget;
}

interface Entry extends ObjectiveState {
  refs: number;
}

export class ObjectiveLimits {
  private readonly entries = new Map<string, Entry>();

  /**
   * The objective's shared state, for a revision being built. A new entry takes
   * this policy's limits; an existing one keeps the live revision's until
   * `adopt` (a revision prepared but never activated changes nothing).
   */
  acquire(objective: string, p: Policy): ObjectiveState {
    let entry = this.entries.get(objective);
    if (entry === undefined) {
      entry = { bulkhead: undefined, budget: new RetryBudget(p.retryBudget), refs: 0 };
      this.entries.set(objective, entry);
    }
    if (p.maxConcurrency !== undefined)
      entry.bulkhead ??= new Bulkhead(p.maxConcurrency, p.maxQueue, `objective "${objective}"`);
    entry.refs++;
    return entry;
  }

  /** The revision went live: its policy's limits apply to the shared instances. */
  adopt(objective: string, p: Policy): void {
    const entry = this.entries.get(objective);
    if (entry === undefined) return;
    entry.budget.setRatio(p.retryBudget);
    if (p.maxConcurrency !== undefined) entry.bulkhead?.setLimits(p.maxConcurrency, p.maxQueue);
  }

  /** A revision that used the objective is gone. */
  release(objective: string): void {
    const entry = this.entries.get(objective);
    if (entry !== undefined && --entry.refs === 0) this.entries.delete(objective);
  }

  get size(): number {
    return this.entries.size;
  }
}
