// Dynamic batching on a real session: merged runs give each caller exactly
// the rows it would have got alone.
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batcher, type Feeds } from './batcher.js';

let session: ort.InferenceSession;
beforeAll(async () => {
  session = await ort.InferenceSession.create(resolve(import.meta.dirname, '../../../models/shapes-2.onnx'));
});
afterAll(async () => {
  await session?.release();
});

function images(rows: number, seed: number): Feeds {
  const data = Float32Array.from({ length: rows * 64 }, (_, i) => ((i * 31 + seed * 17) % 11) / 10);
  return { image: new ort.Tensor('float32', data, [rows, 1, 8, 8]) };
}

describe('Batcher', () => {
  it('splits a merged CNN run back into per-caller outputs equal to unbatched runs', async () => {
    const run = (f: Feeds) => session.run(f) as Promise<Feeds>;
    const batched = new Batcher(run, 16, 50);
    const alone = new Batcher(run, 1, 0);
    const inputs = [1, 3, 2, 1, 4].map((rows, i) => ({ rows, feeds: images(rows, i) }));
    const merged = await Promise.all(inputs.map((x) => batched.run(x.feeds, x.rows)));
    const solo = await Promise.all(inputs.map((x) => alone.run(x.feeds, x.rows)));
    expect(batched.stats).toEqual({ runs: 1, requests: 5 });
    expect(alone.stats).toEqual({ runs: 5, requests: 5 });
    merged.forEach((out, i) => {
      expect(out.probabilities!.dims).toEqual([inputs[i]!.rows, 5]);
      expect(Array.from(out.probabilities!.data as Float32Array)).toEqual(
        Array.from(solo[i]!.probabilities!.data as Float32Array),
      );
    });
  });

  it('flushes as soon as maxBatch rows are waiting, without waiting for the delay', async () => {
    const batcher = new Batcher((f) => session.run(f), 4, 60_000);
    await Promise.all([batcher.run(images(2, 1), 2), batcher.run(images(2, 2), 2)]);
    expect(batcher.stats).toEqual({ runs: 1, requests: 2 });
  });

  it('runs a request as large as maxBatch on its own', async () => {
    const batcher = new Batcher((f) => session.run(f), 4, 60_000);
    const out = await batcher.run(images(5, 1), 5);
    expect(out.probabilities!.dims).toEqual([5, 5]);
    expect(batcher.stats).toEqual({ runs: 1, requests: 1 });
  });

  it('fails every caller of a merged run when the run fails', async () => {
    const batcher = new Batcher(() => Promise.reject(new Error('boom')), 8, 1);
    const results = await Promise.allSettled([batcher.run(images(1, 1), 1), batcher.run(images(1, 2), 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
