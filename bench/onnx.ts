// In-process ONNX throughput, batched against unbatched, side by side in one
// run: closed-loop concurrent callers send requests through the backend's
// `send` (the json shape: JSON parse, tensors, run, JSON reply; no sockets),
// for the same model file with dynamic batching off and on. Also tokens/s of
// concurrent generations of the support-chat language model.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startJunction, type Junction } from '../src/app.js';
import { RequestBody } from '../src/call/body.js';
import type { Call, Operation } from '../src/call/types.js';
import type { OnnxBackend } from '../src/backends/onnx/onnx-backend.js';
import type { BenchSection } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LABELS = ['horizontal-line', 'vertical-line', 'square', 'cross', 'diagonal'];

const onnx = (path: string, maxBatch: number, maxDelayMs: number, extra: object = {}) => ({
  backend: { type: 'onnx', path, maxBatch, maxDelayMs, ...extra },
});

const config = {
  models: {
    ranker: {
      class: 'scorer',
      versions: { off: onnx('models/ranker-7.onnx', 1, 0), on: onnx('models/ranker-7.onnx', 64, 1) },
    },
    shapes: {
      class: 'classifier',
      versions: {
        off: onnx('models/shapes-2.onnx', 1, 0, { labels: LABELS }),
        on: onnx('models/shapes-2.onnx', 64, 1, { labels: LABELS }),
      },
    },
    charlm: {
      class: 'generator',
      versions: {
        off: onnx('models/charlm-1.onnx', 1, 0, { tokenizer: 'models/charlm-1.vocab.json' }),
        on: onnx('models/charlm-1.onnx', 16, 0, { tokenizer: 'models/charlm-1.vocab.json' }),
      },
    },
  },
  objectives: {
    'ranker-off': { default: 'ranker@off' },
    'ranker-on': { default: 'ranker@on' },
    'shapes-off': { default: 'shapes@off' },
    'shapes-on': { default: 'shapes@on' },
    'chat-off': { interface: 'openai', default: 'charlm@off' },
    'chat-on': { interface: 'openai', default: 'charlm@on' },
  },
};

function call(j: Junction, objective: string, operation: Operation, body: Buffer): Call {
  const o = j.runtime.current!.routing.objectives.get(objective)!;
  const controller = new AbortController();
  return {
    objective: o,
    outcome: o.default,
    target: o.default.target,
    operation,
    method: 'POST',
    query: '',
    headers: {},
    body: RequestBody.of(body),
    requestId: 'bench',
    deadline: performance.now() + 60_000,
    replyDeadline: performance.now() + 60_000,
    signal: controller.signal,
    abort: (r) => controller.abort(r),
  };
}

interface Measured {
  perSecond: number;
  p50: number;
  p99: number;
  batch: number;
}

/** `callers` loops, each sending one request after the other for `seconds`. */
async function closedLoop(
  j: Junction,
  objective: string,
  operation: Operation,
  body: Buffer,
  callers: number,
  seconds: number,
): Promise<Measured> {
  const backend = j.runtime.current!.backends.get(
    j.runtime.current!.routing.objectives.get(objective)!.default.target.id,
  ) as OnnxBackend;
  const stats = backend.model.batcher.stats;
  const before = { ...stats };
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const reply = await backend.send(call(j, objective, operation, body));
        if (reply.status !== 200) throw new Error(`${objective}: status ${reply.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    +(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(2);
  return {
    perSecond: latencies.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    batch: +((stats.requests - before.requests) / Math.max(1, stats.runs - before.runs)).toFixed(1),
  };
}

export async function benchOnnx(opts: { seconds?: number; callers?: number } = {}): Promise<BenchSection> {
  const seconds = opts.seconds ?? 3;
  const callers = opts.callers ?? 64;
  const j = await startJunction({ config, baseDir: ROOT, port: 0 });
  try {
    const rank = Buffer.from(JSON.stringify({ inputs: { features: [0.85, 0.95, 0.7, 0.8, 0.6, 0.3, 0.5, 0] } }));
    const image = Buffer.from(
      JSON.stringify({ inputs: { image: Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 1 : 0)) } }),
    );
    const chat = Buffer.from(JSON.stringify({ prompt: 'Q: ', max_tokens: 64, temperature: 0 }));
    const rows: BenchSection['rows'] = [];
    const pair = async (
      name: string,
      unit: string,
      objective: string,
      operation: Operation,
      body: Buffer,
      n: number,
      scale = 1,
    ) => {
      await closedLoop(j, `${objective}-off`, operation, body, n, 0.3); // warm up
      const off = await closedLoop(j, `${objective}-off`, operation, body, n, seconds);
      await closedLoop(j, `${objective}-on`, operation, body, n, 0.3);
      const on = await closedLoop(j, `${objective}-on`, operation, body, n, seconds);
      for (const [mode, m] of [
        ['unbatched', off],
        ['batched', on],
      ] as const) {
        rows.push({
          model: name,
          mode,
          callers: n,
          [unit]: Math.round(m.perSecond * scale),
          'mean batch': m.batch,
          'p50 ms': m.p50,
          'p99 ms': m.p99,
          'batched / unbatched': mode === 'batched' ? +(on.perSecond / off.perSecond).toFixed(2) : '',
        });
      }
    };
    await pair('ranker-7 (MLP)', 'requests/s', 'ranker', 'invoke', rank, callers);
    await pair('shapes-2 (CNN)', 'requests/s', 'shapes', 'invoke', image, callers);
    // 64 tokens per request: requests/s × 64 = tokens/s.
    await pair('charlm-1 (generation)', 'tokens/s', 'chat', 'completions', chat, 16, 64);
    return {
      name: `ONNX in-process: dynamic batching off vs on (${seconds}s each, closed loop)`,
      rows,
      notes: [
        'batched: ranker/shapes maxBatch 64, maxDelayMs 1; charlm maxBatch 16, maxDelayMs 0. unbatched: maxBatch 1.',
        'each row: concurrent callers sending one request (one example) after another through Backend.send, no sockets.',
      ],
    };
  } finally {
    await j.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchOnnx());
}
