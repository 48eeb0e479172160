// Latency as counts in fixed geometric buckets, so that every replica's
// counts add up in the store (a quantile of quantiles would not). Buckets grow
// by 5 % from 0.1 ms to about 10 minutes: a quantile read back is the
// bucket's geometric middle, within 2.5 % of the true value, and a cell's
// histogram is 322 counters whatever its traffic.

const FIRST_MS = 0.1;
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket i holds [0.1·1.05^(i-1), 0.1·1.05^i) ms; bucket 0 everything below 0.1 ms; the last everything above. */
export const LATENCY_BUCKETS = 322;

export function latencyBucket(ms: number): number {
  if (!(ms >= FIRST_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, 1 + Math.floor(Math.log(ms / FIRST_MS) / LOG_GROWTH));
}

/** The `q` quantile (0–1) of the counts, as its bucket's geometric middle; null without any count. */
export function bucketQuantile(counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  // The rank quantile_cont interpolates at, rounded up to the bucket that holds it.
  const rank = q * (total - 1);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen > rank) return i === 0 ? FIRST_MS / 2 : FIRST_MS * GROWTH ** (i - 0.5);
  }
  return FIRST_MS * GROWTH ** (counts.length - 1.5);
}

/** Adds `from` into `into`, element by element (both LATENCY_BUCKETS long). */
export function addBuckets(into: number[], from: readonly number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i] ?? 0;
}
