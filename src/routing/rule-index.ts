// First-match over an objective's rules in O(context keys), not O(rules): for
// each key the rules form a bitset, so matching is a few Map lookups and word
// ANDs, and the cost stays flat at 10,000 rules. The semantics are exactly
// those of when.ts `matches` applied to each rule in order (property-tested).
import { TRAFFIC_CLASSES, type TrafficClass } from '../config/schema.js';
import type { CompiledRule, KeyIndex, RoutingRequest, RuleIndex } from './types.js';

export function buildRuleIndex(rules: readonly CompiledRule[]): RuleIndex {
  const words = Math.ceil(rules.length / 32);
  const set = (bits: Uint32Array, i: number) => {
    bits[i >>> 5]! |= 1 << (i & 31);
  };

  const keyNames = [...new Set(rules.flatMap((r) => r.when.context.map(([k]) => k)))];
  const keys: KeyIndex[] = keyNames.map((key) => {
    const unconstrained = new Uint32Array(words);
    const byValue = new Map<string, Uint32Array>();
    rules.forEach((rule, i) => {
      const entry = rule.when.context.find(([k]) => k === key);
      if (entry === undefined) set(unconstrained, i);
      else
        for (const v of entry[1]) {
          let bits = byValue.get(v);
          if (bits === undefined) byValue.set(v, (bits = new Uint32Array(words)));
          set(bits, i);
        }
    });
    for (const bits of byValue.values()) for (let w = 0; w < words; w++) bits[w]! |= unconstrained[w]!;
    return { key, byValue, unconstrained };
  });

  const byTrafficClass = new Map<TrafficClass, Uint32Array>();
  for (const tc of TRAFFIC_CLASSES) {
    const bits = new Uint32Array(words);
    rules.forEach((rule, i) => {
      if (rule.when.trafficClasses === undefined || rule.when.trafficClasses.has(tc)) set(bits, i);
    });
    byTrafficClass.set(tc, bits);
  }
  return { count: rules.length, keys, byTrafficClass, scratch: new Uint32Array(words) };
}

/** Index of the first rule that matches, or -1. */
export function firstMatchingRule(index: RuleIndex, req: RoutingRequest): number {
  if (index.count === 0) return -1;
  const tc = index.byTrafficClass.get(req.trafficClass)!;
  // Up to 32 rules (the common case) fit one word: AND plain numbers, stop at
  // the first key that leaves no rule. Measured with the SDK's decide, where
  // this function was 38 % of the time once the buckets were remembered.
  if (tc.length === 1) {
    let word = tc[0]!;
    for (let k = 0; k < index.keys.length && word !== 0; k++) {
      const ki = index.keys[k]!;
      const value = req.context[ki.key];
      word &= ((value === undefined ? undefined : ki.byValue.get(value)) ?? ki.unconstrained)[0]!;
    }
    return word === 0 ? -1 : 31 - Math.clz32(word & -word);
  }
  const acc = index.scratch;
  for (let w = 0; w < acc.length; w++) acc[w] = tc[w]!;
  for (let k = 0; k < index.keys.length; k++) {
    const ki = index.keys[k]!;
    const value = req.context[ki.key];
    const bits = (value === undefined ? undefined : ki.byValue.get(value)) ?? ki.unconstrained;
    for (let w = 0; w < acc.length; w++) acc[w]! &= bits[w]!;
  }
  for (let w = 0; w < acc.length; w++) {
    const word = acc[w]!;
    if (word !== 0) return w * 32 + (31 - Math.clz32(word & -word));
  }
  return -1;
}
