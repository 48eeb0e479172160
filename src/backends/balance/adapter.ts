// LoRA adapter affinity (SPEC §14 `adapter`): a call for adapter X goes to the
// least-loaded replica that has X loaded (learned from each replica's
// /v1/models, where vLLM lists adapters with their `parent`), as long as it is
// under the bounded-load capacity ceil((1+ε)·(mean outstanding + 1)); past it,
// a hot adapter spreads to the least-loaded replica without it (which loads it
// on demand). Replicas without it are the last resort.
import { leastLoaded } from './least-load.js';
import { loadBound, type Balancer, type Candidate, type PickInput } from './types.js';

export class AdapterBalancer implements Balancer {
  readonly name = 'adapter';
  reason = 'adapter-hit';

  constructor(private readonly epsilon: number) {}

  pick<C extends Candidate>(list: readonly C[], ok: (c: C) => boolean, input: PickInput): C | undefined {
    const adapter = input.adapter;
    if (adapter === undefined) {
      this.reason = 'fallback-no-adapter';
      return leastLoaded(list, ok, input);
    }
    let total = 0;
    let count = 0;
    let holders = 0;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!ok(c)) continue;
      total += c.outstanding;
      count++;
      if (c.adapters?.has(adapter) === true) holders++;
    }
    if (count === 0) return undefined;
    const bound = loadBound(total, count, this.epsilon);
    const start = Math.floor(input.random() * list.length);
    let holder: C | undefined;
    let holderLoad = Infinity;
    let other: C | undefined;
    let otherLoad = Infinity;
    let anyHolder: C | undefined;
    let anyHolderLoad = Infinity;
    for (let k = 0; k < list.length; k++) {
      const c = list[(start + k) % list.length]!;
      if (!ok(c)) continue;
      const has = c.adapters?.has(adapter) === true;
      const load = c.outstanding;
      const under = load + 1 <= bound;
      if (has) {
        if (under && load < holderLoad) {
          holder = c;
          holderLoad = load;
        }
        if (load < anyHolderLoad) {
          anyHolder = c;
          anyHolderLoad = load;
        }
      } else if (under && load < otherLoad) {
        other = c;
        otherLoad = load;
      }
    }
    if (holder !== undefined) {
      this.reason = 'adapter-hit';
      return holder;
    }
    if (holders > 0 && other !== undefined) {
      this.reason = 'adapter-spill';
      return other;
    }
    if (anyHolder !== undefined) {
      this.reason = 'adapter-hit';
      return anyHolder;
    }
    this.reason = 'adapter-miss';
    return other ?? leastLoaded(list, ok, input);
  }
}
