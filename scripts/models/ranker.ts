// The `continue-watching-ranking` scorer: an MLP over user × title features,
// trained on synthetic viewing sessions whose ground truth is written below.
// Input `features` float32 [N, 8] (one row per candidate title), output
// `score` float32 [N, 1] = probability the user resumes that title.
import { Adam } from './adam.js';
import type { GraphSpec } from './onnx-writer.js';
import { Prng } from './prng.js';

export const RANKER_FEATURES = [
  'progress', 'recency', 'genre_affinity', 'user_binge',
  'title_popularity', 'title_freshness', 'episodes_left', 'completed',
] as const;
const F = RANKER_FEATURES.length;

/** The hidden rule the model learns: how likely a user resumes a title. */
function truth(x: Float32Array): number {
  const [progress, recency, affinity, binge, popularity, freshness, left, completed] = x as unknown as number[];
  const logit = 3 * progress! * (1 - completed!) + 2.5 * recency! + 1.5 * affinity! * binge!
    + popularity! + 1.2 * freshness! * left! - 4 * completed! - 2.5;
  return 1 / (1 + Math.exp(-logit));
}

function sample(rng: Prng): { x: Float32Array; y: number } {
  const x = new Float32Array(F);
  for (let i = 0; i < F - 1; i++) x[i] = rng.next();
  x[F - 1] = rng.next() < 0.2 ? 1 : 0;
  return { x, y: rng.next() < truth(x) ? 1 : 0 };
}

export interface RankerOptions {
  version: string;
  hidden: number;
  epochs: number;
  seed: number;
}

export function trainRanker(opts: RankerOptions): GraphSpec {
  const rng = new Prng(opts.seed);
  const H = opts.hidden;
  const w1 = rng.weights(H * F, F), b1 = new Float32Array(H);
  const w2 = rng.weights(H, H), b2 = new Float32Array(1);
  const grads = [w1, b1, w2, b2].map((p) => new Float32Array(p.length));
  const [gw1, gb1, gw2, gb2] = grads as [Float32Array, Float32Array, Float32Array, Float32Array];
  const adam = new Adam([w1, b1, w2, b2], grads, 0.01);
  const data = Array.from({ length: 4000 }, () => sample(rng));
  const h = new Float32Array(H);
  const batch = 32;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    rng.shuffle(data);
    for (let start = 0; start < data.length; start += batch) {
      const end = Math.min(start + batch, data.length);
      for (let n = start; n < end; n++) {
        const { x, y } = data[n]!;
        let z = b2[0]!;
        for (let j = 0; j < H; j++) {
          let a = b1[j]!;
          for (let i = 0; i < F; i++) a += w1[j * F + i]! * x[i]!;
          h[j] = a > 0 ? a : 0;
          z += w2[j]! * h[j]!;
        }
        const dz = 1 / (1 + Math.exp(-z)) - y; // sigmoid + binary cross-entropy
        gb2[0] = gb2[0]! + dz;
        for (let j = 0; j < H; j++) {
          gw2[j] = gw2[j]! + dz * h[j]!;
          if (h[j]! <= 0) continue;
          const dh = dz * w2[j]!;
          gb1[j] = gb1[j]! + dh;
          for (let i = 0; i < F; i++) gw1[j * F + i] = gw1[j * F + i]! + dh * x[i]!;
        }
      }
      adam.step(1 / (end - start));
    }
  }

  return {
    name: `ranker-${opts.version}`,
    doc: `continue-watching scorer v${opts.version}: MLP ${F}-${H}-1, ${opts.epochs} epochs, seed ${opts.seed}; made by scripts/models/ranker.ts`,
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', F] }],
    outputs: [{ name: 'score', type: 'float32', shape: ['batch', 1] }],
    nodes: [
      { op: 'Gemm', inputs: ['features', 'w1', 'b1'], outputs: ['h_pre'], attrs: { transB: 1 } },
      { op: 'Relu', inputs: ['h_pre'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'w2', 'b2'], outputs: ['logit'], attrs: { transB: 1 } },
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['score'] },
    ],
    floats: {
      w1: { dims: [H, F], data: w1 }, b1: { dims: [H], data: b1 },
      w2: { dims: [1, H], data: w2 }, b2: { dims: [1], data: b2 },
    },
    metadata: { features: RANKER_FEATURES.join(',') },
  };
}
