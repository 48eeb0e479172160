// Prefix affinity with bounded load (SPEC §14 `prefix`). The call's key is a
// chain of hashes over the prompt's leading blocks (prefix-key.ts): block i's
// hash covers blocks 0..i. An approximate index remembers, for each chain hash
// it has seen (bounded, least recently used out first), the replica that last
// served it; the call goes to the replica holding its longest matched chain, as
// a replica's KV cache most likely still holds that prefix. Load stays bounded
// (consistent hashing with bounded loads, Mirrokni et al. 2018): no replica
// takes more than ceil((1+ε)·(mean outstanding + 1)). A call whose holder is at
// the bound goes to the holder of a shorter matched chain under it (an earlier
// turn's replica still holds that much), else spills to the next replica in
// rendezvous-hash order on its chain hash, so a hot prefix's overflow lands on
// the same few replicas (which then cache it too) rather than anywhere.
// A call whose prompt matches nothing goes to the least-loaded replica under the
// bound (a new conversation gains nothing from a hashed place, and least load
// keeps unique prompts as even as `least-load` does). A call with no key (not
// an OpenAI body, a streamed body, a prompt shorter than a block) is balanced
// by least load.
import { hasFreshReport, leastLoaded } from './least-load.js';
import { loadBound, type Balancer, type Candidate, type PickInput } from './types.js';

/** Which replica last served each chain hash; bounded, the entry changed longest ago out first (Map order). */
export class PrefixIndex {
  private readonly map = new Map<number, Candidate>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(hash: number): Candidate | undefined {
    return this.map.get(hash & 0x3fffffff);
  }

  /** Remembers `c` as the last to serve `hash` (and makes it the most recent). */
  set(hash: number, c: Candidate): void {
    const key = hash & 0x3fffffff; // a small integer key: no heap number per entry
    const m = this.map;
    const had = m.get(key);
    if (had === c) return; // unchanged: its place stays (approximate recency, and no table churn per call)
    if (had !== undefined) m.delete(key);
    m.set(key, c);
    if (m.size > this.maxEntries) {
      for (const oldest of m.keys()) {
        m.delete(oldest);
        break;
      }
    }
  }
}

/** Rendezvous weight of replica `c` for `key`: the order consistent hashing walks. */
function weight(key: number, c: Candidate): number {
  let h = Math.imul(key ^ c.hash, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class PrefixBalancer implements Balancer {
  readonly name = 'prefix';
  reason = 'prefix-miss';
  readonly index: PrefixIndex;

  constructor(
    private readonly epsilon: number,
    maxEntries: number,
  ) {
    this.index = new PrefixIndex(maxEntries);
  }

  pick<C extends Candidate>(list: readonly C[], ok: (c: C) => boolean, input: PickInput): C | undefined {
    const blocks = input.prefixBlocks;
    if (blocks === 0) {
      const c = leastLoaded(list, ok, input);
      this.reason = input.noKey;
      return c;
    }
    // The bound: mean outstanding over the replicas that may take calls.
    let total = 0;
    let count = 0;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (ok(c)) {
        total += c.outstanding;
        count++;
      }
    }
    if (count === 0) return undefined;
    const bound = loadBound(total, count, this.epsilon);
    // Longest matched chain whose replica may take calls. When its holder is at the bound, a
    // shorter chain's holder under it (an earlier turn's replica) still skips that much prefill.
    let anchor = 0;
    let holder: Candidate | undefined;
    for (let i = blocks - 1; i >= 0; i--) {
      const h = input.prefix[i]!;
      const r = this.index.get(h);
      if (r === undefined || r === holder || r.removed || !ok(r as C)) continue;
      if (r.outstanding + 1 <= bound) {
        this.reason = holder === undefined ? 'prefix-hit' : 'prefix-spill';
        this.remember(input, r);
        return r as C;
      }
      if (holder === undefined) {
        holder = r;
        anchor = h;
      }
    }
    if (holder === undefined) {
      // Nothing matched (a new prompt): the least-loaded replica under the bound. A random or hashed
      // place here would add load imbalance to prompts that gain nothing from affinity.
      const fresh = leastLoaded(list, ok, input, bound) ?? leastLoaded(list, ok, input);
      if (fresh === undefined) return undefined;
      this.reason = 'prefix-miss';
      this.remember(input, fresh);
      return fresh;
    }
    // Every holder is at the bound: the first replica in rendezvous order on the longest chain's hash.
    let best: C | undefined;
    let bestWeight = -1;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c === holder || c.outstanding + 1 > bound || !ok(c)) continue;
      const w = weight(anchor, c);
      if (w > bestWeight) {
        best = c;
        bestWeight = w;
      }
    }
    if (best === undefined) {
      // Every replica at the bound (caps): the least loaded one.
      best = leastLoaded(list, ok, input);
      if (best === undefined) return undefined;
      this.reason = hasFreshReport(best, input.now, input.maxAgeMs) ? 'least-load' : 'fallback-no-report';
    } else {
      this.reason = 'prefix-spill';
    }
    this.remember(input, best);
    return best;
  }

  private remember(input: PickInput, c: Candidate): void {
    for (let i = 0; i < input.prefixBlocks; i++) this.index.set(input.prefix[i]!, c);
  }
}
