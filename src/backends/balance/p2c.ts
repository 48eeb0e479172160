// Power of two choices (the default): two random replicas that may take the
// call, the one with fewer outstanding calls wins; when both draws are out, one
// scan for the least outstanding. Uses only Junction's own counts.
import type { Balancer, Candidate, PickInput } from './types.js';

export function p2c<C extends Candidate>(
  list: readonly C[],
  ok: (c: C) => boolean,
  random: () => number,
): C | undefined {
  const n = list.length;
  if (n === 0) return undefined;
  if (n === 1) {
    const only = list[0]!;
    return ok(only) ? only : undefined;
  }
  const a = list[Math.floor(random() * n)]!;
  let b = list[Math.floor(random() * (n - 1))]!;
  if (b === a) b = list[n - 1]!;
  const aOk = ok(a);
  const bOk = ok(b);
  if (aOk && bOk) return a.outstanding <= b.outstanding ? a : b;
  if (aOk) return a;
  if (bOk) return b;
  // Both draws unavailable: scan once rather than fail while others are fine.
  let best: C | undefined;
  for (let i = 0; i < n; i++) {
    const e = list[i]!;
    if (ok(e) && (best === undefined || e.outstanding < best.outstanding)) best = e;
  }
  return best;
}

export class P2cBalancer implements Balancer {
  readonly name = 'p2c';
  reason = 'p2c';
  pick<C extends Candidate>(list: readonly C[], ok: (c: C) => boolean, input: PickInput): C | undefined {
    return p2c(list, ok, input.random);
  }
}
