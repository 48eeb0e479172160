import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TrafficClass } from '../config/schema.js';
import { buildRuleIndex, firstMatchingRule } from './rule-index.js';
import type { CompiledRule, Outcome, RoutingRequest } from './types.js';
import { compileWhen, matches } from './when.js';

const VALUES = ['a', 'b', 'c'];
const KEYS = ['country', 'device', 'surface'];
const CLASSES: TrafficClass[] = ['live', 'test', 'synthetic'];

const when = fc.record({
  context: fc.dictionary(fc.constantFrom(...KEYS), fc.subarray(VALUES, { minLength: 1 }), { maxKeys: 3 }),
  trafficClass: fc.option(fc.subarray(CLASSES, { minLength: 1 }), { nil: undefined }),
});

const request = fc.record({
  context: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES, 'zz'), { maxKeys: 3 }),
  trafficClass: fc.constantFrom(...CLASSES),
});

describe('rule index', () => {
  it('finds exactly the first rule that matches() accepts, for any rules and request (up to 80 rules: several words)', () => {
    fc.assert(
      fc.property(fc.array(when, { maxLength: 80 }), request, (whens, r) => {
        const rules: CompiledRule[] = whens.map((w, i) => ({
          id: String(i),
          when: compileWhen(w),
          outcome: {} as Outcome,
        }));
        const req: RoutingRequest = { unit: 'u', context: r.context, trafficClass: r.trafficClass };
        const linear = rules.findIndex((rule) => matches(rule.when, req));
        expect(firstMatchingRule(buildRuleIndex(rules), req)).toBe(linear);
      }),
      { numRuns: 2000 },
    );
  });

  it('the one-word path (up to 32 rules, where matching stops at the first key that leaves none) agrees too', () => {
    fc.assert(
      fc.property(fc.array(when, { minLength: 1, maxLength: 32 }), request, (whens, r) => {
        const rules: CompiledRule[] = whens.map((w, i) => ({
          id: String(i),
          when: compileWhen(w),
          outcome: {} as Outcome,
        }));
        const req: RoutingRequest = { unit: 'u', context: r.context, trafficClass: r.trafficClass };
        expect(firstMatchingRule(buildRuleIndex(rules), req)).toBe(rules.findIndex((rule) => matches(rule.when, req)));
      }),
      { numRuns: 2000 },
    );
  });
});
