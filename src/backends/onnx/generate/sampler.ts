// Picks the next token from logits: greedy at temperature 0, else a draw from
// softmax(logits / temperature). `random` is injected so a `seed` makes the
// output reproducible.
export type Random = () => number;

export function sampleToken(logits: Float32Array, temperature: number, random: Random): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature <= 0) return best;
  const max = logits[best]!;
  const weights = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += weights[i] = Math.exp((logits[i]! - max) / temperature);
  let r = random() * sum;
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) <= 0) return i;
  return best;
}

/** mulberry32, for `seed`-ed requests. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
