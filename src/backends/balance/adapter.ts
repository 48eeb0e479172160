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
  /** Which replicas have the adapter, for the pick in progress (grown, never shrunk: no allocation per pick). */
  private has = new Uint8Array(64);

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
    if (this.has.length < list.length) this.has = new Uint8Array(list.length * 2);
    const has = this.has;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!ok(c)) {
        has[i] = 2; // may not take the call
        continue;
      }
      total += c.outstanding;
      count++;
      const loaded = c.adapters?.has(adapter) === true;
      has[i] = loaded ? 1 : 0;
      if (loaded) holders++;
    }
    if (count === 0) return undefined;
    const bound = loadBound(total, count, this.epsilon);
    const n = list.length;
    const start = Math.floor(input.random() * n);
    let holder: C | undefined;
    let holderLoad = Infinity;
    let other: C | undefined;
    let otherLoad = Infinity;
    let anyHolder: C | undefined;
    let anyHolderLoad = Infinity;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const flag = has[i]!;
      if (flag === 2) continue;
      const c = list[i]!;
      const load = c.outstanding;
      const under = load + 1 <= bound;
      if (flag === 1) {
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
