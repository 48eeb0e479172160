// The `support-chat` language model: an MLP over the last K characters
// (embedding → tanh layer → logits over the vocabulary), trained on the
// support FAQ shipped in data/. Input `context` int64 [N, K] (token ids,
// left-padded with the id of "\n"), output `logits` float32 [N, V].
import { Adam } from './adam.js';
import type { GraphSpec } from './onnx-writer.js';
import { Prng } from './prng.js';

export interface CharLmOptions {
  version: string;
  text: string;
  context: number;
  embed: number;
  hidden: number;
  epochs: number;
  seed: number;
}

export interface CharLm {
  graph: GraphSpec;
  /** The tokenizer file: one token per character, ids by position. */
  vocab: { type: 'char'; tokens: string[]; pad: string; unknown: string };
}

export function trainCharLm(opts: CharLmOptions): CharLm {
  const rng = new Prng(opts.seed);
  const tokens = [...new Set(opts.text)].sort();
  const V = tokens.length, K = opts.context, D = opts.embed, H = opts.hidden, IN = K * D;
  const id = new Map(tokens.map((t, i) => [t, i]));
  const ids = [...opts.text].map((ch) => id.get(ch)!);
  const pad = id.get('\n')!;

  const emb = rng.weights(V * D, 1), w1 = rng.weights(H * IN, IN), b1 = new Float32Array(H);
  const w2 = rng.weights(V * H, H), b2 = new Float32Array(V);
  const grads = [emb, w1, b1, w2, b2].map((p) => new Float32Array(p.length));
  const [gemb, gw1, gb1, gw2, gb2] = grads as Float32Array[] as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const adam = new Adam([emb, w1, b1, w2, b2], grads, 0.005);

  const ctx = new Int32Array(K), x = new Float32Array(IN), h = new Float32Array(H);
  const p = new Float32Array(V), dh = new Float32Array(H), dx = new Float32Array(IN);
  const order = ids.map((_, t) => t);

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += 16) {
      const end = Math.min(start + 16, order.length);
      for (let n = start; n < end; n++) {
        const t = order[n]!;
        for (let k = 0; k < K; k++) ctx[k] = t - K + k >= 0 ? ids[t - K + k]! : pad;
        for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) x[k * D + d] = emb[ctx[k]! * D + d]!;
        for (let j = 0; j < H; j++) {
          let a = b1[j]!;
          for (let i = 0; i < IN; i++) a += w1[j * IN + i]! * x[i]!;
          h[j] = Math.tanh(a);
        }
        let max = -Infinity;
        for (let v = 0; v < V; v++) {
          let a = b2[v]!;
          for (let j = 0; j < H; j++) a += w2[v * H + j]! * h[j]!;
          p[v] = a;
          if (a > max) max = a;
        }
        let sum = 0;
        for (let v = 0; v < V; v++) { p[v] = Math.exp(p[v]! - max); sum += p[v]!; }
        dh.fill(0);
        for (let v = 0; v < V; v++) {
          const d = p[v]! / sum - (v === ids[t] ? 1 : 0);
          gb2[v] = gb2[v]! + d;
          for (let j = 0; j < H; j++) {
            gw2[v * H + j] = gw2[v * H + j]! + d * h[j]!;
            dh[j] = dh[j]! + d * w2[v * H + j]!;
          }
        }
        dx.fill(0);
        for (let j = 0; j < H; j++) {
          const da = dh[j]! * (1 - h[j]! * h[j]!);
          gb1[j] = gb1[j]! + da;
          for (let i = 0; i < IN; i++) {
            gw1[j * IN + i] = gw1[j * IN + i]! + da * x[i]!;
            dx[i] = dx[i]! + da * w1[j * IN + i]!;
          }
        }
        for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) gemb[ctx[k]! * D + d] = gemb[ctx[k]! * D + d]! + dx[k * D + d]!;
      }
      adam.step(1 / (end - start));
    }
  }

  const graph: GraphSpec = {
    name: `charlm-${opts.version}`,
    doc: `support-chat character LM v${opts.version}: context ${K}, embed ${D}, hidden ${H}, vocab ${V}, ${opts.epochs} epochs, seed ${opts.seed}; made by scripts/models/charlm.ts`,
    inputs: [{ name: 'context', type: 'int64', shape: ['batch', K] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', V] }],
    nodes: [
      { op: 'Gather', inputs: ['emb', 'context'], outputs: ['embedded'] },
      { op: 'Reshape', inputs: ['embedded', 'flat_shape'], outputs: ['flat'] },
      { op: 'Gemm', inputs: ['flat', 'w1', 'b1'], outputs: ['h_pre'], attrs: { transB: 1 } },
      { op: 'Tanh', inputs: ['h_pre'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'w2', 'b2'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    floats: {
      emb: { dims: [V, D], data: emb },
      w1: { dims: [H, IN], data: w1 }, b1: { dims: [H], data: b1 },
      w2: { dims: [V, H], data: w2 }, b2: { dims: [V], data: b2 },
    },
    ints: { flat_shape: { dims: [2], data: [-1, IN] } },
  };
  return { graph, vocab: { type: 'char', tokens, pad: '\n', unknown: ' ' } };
}
