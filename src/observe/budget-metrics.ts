// Budget series (SPEC §16): how much of each budget's current window is used,
// and the calls each refused or warned about. The label is the budget's name
// (`client:search-team:month:USD`, `tag:team=search:day:tokens`): one series
// per budget of the config, so the label set is bounded by the config.
import type { Registry } from 'prom-client';
import { ValueFamily, type ValueCell } from './metric-families.js';

export interface BudgetMetrics {
  /** used ÷ max of the budget's current window, as last read (1 for a budget of 0). */
  used(budget: string, ratio: number): void;
  refused(budget: string): void;
  warned(budget: string): void;
}

const noop = (): void => undefined;

export const NO_BUDGET_METRICS: BudgetMetrics = Object.freeze({ used: noop, refused: noop, warned: noop });

export function createBudgetMetrics(registry: Registry): BudgetMetrics {
  const ratio = new ValueFamily(registry, {
    name: 'junction_budget_used_ratio',
    type: 'gauge',
    help: 'Share of each budget used in its current window (used ÷ max), as admission last read it; 1 and above: calls it covers are refused.',
    labelNames: ['budget'],
    aggregator: 'max',
  });
  const refused = new ValueFamily(registry, {
    name: 'junction_budget_refused_total',
    type: 'counter',
    help: 'Calls refused with 429 budget_exceeded, by the budget that was used up.',
    labelNames: ['budget'],
  });
  const warned = new ValueFamily(registry, {
    name: 'junction_budget_warnings_total',
    type: 'counter',
    help: 'Answers that carried x-junction-budget-warning (the budget past its warnAt), by budget.',
    labelNames: ['budget'],
  });
  const cells = (family: ValueFamily) => {
    const byBudget = new Map<string, ValueCell>();
    return (budget: string): ValueCell => {
      let c = byBudget.get(budget);
      if (c === undefined) byBudget.set(budget, (c = family.cell([budget])));
      return c;
    };
  };
  const ratioOf = cells(ratio);
  const refusedOf = cells(refused);
  const warnedOf = cells(warned);
  return {
    used: (budget, r) => {
      ratioOf(budget).value = r;
    },
    refused: (budget) => {
      refusedOf(budget).value++;
    },
    warned: (budget) => {
      warnedOf(budget).value++;
    },
  };
}
