// Least load, from what replicas report (metrics scrapes, the ORCA header):
// queue first, then running, then KV-cache use. A replica whose report is
// missing or older than the max age is scored by Junction's own count of calls
// open to it. The change in that count since the report (calls sent minus
// calls finished) is added to it: a burst between two scrapes does not all
// land on the replica that looked idle, and a replica whose calls finished
// since does not look busy until the next scrape.
import type { Balancer, Candidate, PickInput } from './types.js';

/**
 * A replica's load in "calls": 2·queue + running + (outstanding now − at the
 * report), at least 0, + kvCache (0..1, the tie-break between replicas equal
 * otherwise); without a fresh report, its outstanding calls. Waiting calls
 * weigh double: each adds its whole wait to the time to first token of the
 * calls behind it.
 */
export function loadScore(c: Candidate, now: number, maxAgeMs: number): number {
  const r = c.load;
  if (r === undefined || now - r.at > maxAgeMs) return c.outstanding;
  return Math.max(0, 2 * r.queue + r.running + c.outstanding - c.outstandingAtReport) + (r.kvCache ?? 0);
}

export function hasFreshReport(c: Candidate, now: number, maxAgeMs: number): boolean {
  return c.load !== undefined && now - c.load.at <= maxAgeMs;
}

/**
 * The least-loaded replica that may take the call; the scan starts at a random
 * place, so replicas equally loaded share the calls. `skip` (if any) is not
 * considered; `bound` (outstanding calls), when finite, leaves out replicas at it.
 */
export function leastLoaded<C extends Candidate>(
  list: readonly C[],
  ok: (c: C) => boolean,
  input: PickInput,
  bound = Infinity,
): C | undefined {
  const n = list.length;
  if (n === 0) return undefined;
  const start = n === 1 ? 0 : Math.floor(input.random() * n);
  let best: C | undefined;
  let bestScore = Infinity;
  for (let k = 0; k < n; k++) {
    let i = start + k;
    if (i >= n) i -= n;
    const c = list[i]!;
    if (c.outstanding + 1 > bound || !ok(c)) continue;
    const s = loadScore(c, input.now, input.maxAgeMs);
    if (s < bestScore) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}

export class LeastLoadBalancer implements Balancer {
  readonly name = 'least-load';
  reason = 'least-load';
  pick<C extends Candidate>(list: readonly C[], ok: (c: C) => boolean, input: PickInput): C | undefined {
    const c = leastLoaded(list, ok, input);
    this.reason =
      c !== undefined && !hasFreshReport(c, input.now, input.maxAgeMs) ? 'fallback-no-report' : 'least-load';
    return c;
  }
}
