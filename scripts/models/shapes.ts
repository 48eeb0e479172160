// The `image-labels` classifier: a small CNN over 8×8 grayscale images of
// synthetic shapes. Input `image` float32 [N, 1, 8, 8] (0 = black, 1 = white),
// output `probabilities` float32 [N, 5] in the order of SHAPE_LABELS.
import { Adam } from './adam.js';
import type { GraphSpec } from './onnx-writer.js';
import { Prng } from './prng.js';

export const SHAPE_LABELS = ['horizontal-line', 'vertical-line', 'square', 'cross', 'diagonal'] as const;
const S = 8;
const POOLED = S / 2;

/** Draws one labelled example: the shape at a random place and size, on noise. */
export function drawShape(rng: Prng, label: number): Float32Array {
  const img = new Float32Array(S * S);
  for (let i = 0; i < img.length; i++) img[i] = rng.next() * 0.2;
  const ink = 0.7 + rng.next() * 0.3;
  const set = (r: number, c: number) => { if (r >= 0 && r < S && c >= 0 && c < S) img[r * S + c] = ink; };
  const len = 4 + rng.int(S - 3);
  const at = (room: number) => rng.int(Math.max(1, room));
  switch (SHAPE_LABELS[label]) {
    case 'horizontal-line': { const r = rng.int(S), c = at(S - len + 1); for (let k = 0; k < len; k++) set(r, c + k); break; }
    case 'vertical-line': { const c = rng.int(S), r = at(S - len + 1); for (let k = 0; k < len; k++) set(r + k, c); break; }
    case 'square': {
      const side = 3 + rng.int(4), r = at(S - side + 1), c = at(S - side + 1);
      for (let k = 0; k < side; k++) { set(r, c + k); set(r + side - 1, c + k); set(r + k, c); set(r + k, c + side - 1); }
      break;
    }
    case 'cross': {
      const arm = 1 + rng.int(2), r = arm + rng.int(S - 2 * arm), c = arm + rng.int(S - 2 * arm);
      for (let k = -arm; k <= arm; k++) { set(r + k, c); set(r, c + k); }
      break;
    }
    default: {
      const r = at(S - len + 1), c = at(S - len + 1), anti = rng.next() < 0.5;
      for (let k = 0; k < len; k++) set(r + k, anti ? c + len - 1 - k : c + k);
    }
  }
  return img;
}

export interface ShapesOptions {
  version: string;
  channels: number;
  epochs: number;
  seed: number;
}

export function trainShapes(opts: ShapesOptions): GraphSpec {
  const rng = new Prng(opts.seed);
  const C = opts.channels, L = SHAPE_LABELS.length, FLAT = C * POOLED * POOLED;
  const k = rng.weights(C * 9, 9), bk = new Float32Array(C);
  const wf = rng.weights(L * FLAT, FLAT), bf = new Float32Array(L);
  const grads = [k, bk, wf, bf].map((p) => new Float32Array(p.length));
  const [gk, gbk, gwf, gbf] = grads as [Float32Array, Float32Array, Float32Array, Float32Array];
  const adam = new Adam([k, bk, wf, bf], grads, 0.01);
  const data = Array.from({ length: 3000 }, (_, i) => ({ y: i % L, x: drawShape(rng, i % L) }));

  const conv = new Float32Array(C * S * S);
  const pooled = new Float32Array(FLAT);
  const argmax = new Int32Array(FLAT);
  const logits = new Float32Array(L);
  const dpooled = new Float32Array(FLAT);

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    rng.shuffle(data);
    for (let start = 0; start < data.length; start += 32) {
      const end = Math.min(start + 32, data.length);
      for (let n = start; n < end; n++) {
        const { x, y } = data[n]!;
        // Conv 3×3, padding 1, then ReLU.
        for (let c = 0; c < C; c++) for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
          let a = bk[c]!;
          for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) {
            const r = i + di - 1, q = j + dj - 1;
            if (r >= 0 && r < S && q >= 0 && q < S) a += k[c * 9 + di * 3 + dj]! * x[r * S + q]!;
          }
          conv[c * S * S + i * S + j] = a > 0 ? a : 0;
        }
        // MaxPool 2×2 stride 2, remembering where each max came from.
        for (let c = 0; c < C; c++) for (let i = 0; i < POOLED; i++) for (let j = 0; j < POOLED; j++) {
          let best = -Infinity, where = 0;
          for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) {
            const idx = c * S * S + (2 * i + di) * S + 2 * j + dj;
            if (conv[idx]! > best) { best = conv[idx]!; where = idx; }
          }
          const p = c * POOLED * POOLED + i * POOLED + j;
          pooled[p] = best;
          argmax[p] = where;
        }
        let max = -Infinity;
        for (let l = 0; l < L; l++) {
          let a = bf[l]!;
          for (let f = 0; f < FLAT; f++) a += wf[l * FLAT + f]! * pooled[f]!;
          logits[l] = a;
          if (a > max) max = a;
        }
        let sum = 0;
        for (let l = 0; l < L; l++) { logits[l] = Math.exp(logits[l]! - max); sum += logits[l]!; }
        dpooled.fill(0);
        for (let l = 0; l < L; l++) {
          const d = logits[l]! / sum - (l === y ? 1 : 0); // softmax + cross-entropy
          gbf[l] = gbf[l]! + d;
          for (let f = 0; f < FLAT; f++) {
            gwf[l * FLAT + f] = gwf[l * FLAT + f]! + d * pooled[f]!;
            dpooled[f] = dpooled[f]! + d * wf[l * FLAT + f]!;
          }
        }
        for (let p = 0; p < FLAT; p++) {
          const idx = argmax[p]!;
          if (conv[idx]! <= 0) continue;
          const d = dpooled[p]!, c = Math.floor(idx / (S * S)), i = Math.floor((idx % (S * S)) / S), j = idx % S;
          gbk[c] = gbk[c]! + d;
          for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) {
            const r = i + di - 1, q = j + dj - 1;
            if (r >= 0 && r < S && q >= 0 && q < S) gk[c * 9 + di * 3 + dj] = gk[c * 9 + di * 3 + dj]! + d * x[r * S + q]!;
          }
        }
      }
      adam.step(1 / (end - start));
    }
  }

  return {
    name: `shapes-${opts.version}`,
    doc: `image-labels classifier v${opts.version}: Conv3x3(${C})-ReLU-MaxPool2-Dense(${L}), ${opts.epochs} epochs, seed ${opts.seed}; made by scripts/models/shapes.ts`,
    inputs: [{ name: 'image', type: 'float32', shape: ['batch', 1, S, S] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', L] }],
    nodes: [
      { op: 'Conv', inputs: ['image', 'k', 'bk'], outputs: ['conv'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['conv'], outputs: ['act'] },
      { op: 'MaxPool', inputs: ['act'], outputs: ['pooled'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'wf', 'bf'], outputs: ['logits'], attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: 1 } },
    ],
    floats: {
      k: { dims: [C, 1, 3, 3], data: k }, bk: { dims: [C], data: bk },
      wf: { dims: [L, FLAT], data: wf }, bf: { dims: [L], data: bf },
    },
    metadata: { labels: SHAPE_LABELS.join(',') },
  };
}
