// The in-process ONNX backend over real sockets and a real ONNX Runtime:
// the json shape, OIP, input errors, dynamic batching, session sharing and
// refusing a config whose model file is missing or broken.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../src/app.js';
import { injectedFetch } from './support/inject.js';
import { ConfigError } from '../src/config/issues.js';
import { validateConfig } from '../src/config/load.js';
import { backendOf, REPO_ROOT } from './support/onnx.js';

const LABELS = ['horizontal-line', 'vertical-line', 'square', 'cross', 'diagonal'];
const onnx = (path: string, extra: object = {}) => ({ backend: { type: 'onnx', path, ...extra } });

const config = {
  models: {
    ranker: {
      class: 'scorer',
      versions: {
        '6': onnx('models/ranker-6.onnx', { maxBatch: 64, maxDelayMs: 20 }),
        twin: onnx('models/ranker-6.onnx', { maxBatch: 64, maxDelayMs: 20 }),
        solo: onnx('models/ranker-6.onnx'),
      },
    },
    shapes: { class: 'classifier', versions: { '2': onnx('models/shapes-2.onnx', { labels: LABELS }) } },
  },
  objectives: {
    rank: { interface: 'json', default: 'ranker@6' },
    'rank-solo': { interface: 'json', default: 'ranker@solo' },
    'rank-oip': { interface: 'oip', default: 'ranker@6' },
    'rank-twin': { interface: 'json', default: 'ranker@twin' },
    shapes: { interface: 'json', default: 'shapes@2' },
  },
};

let j: Junction;
// Not the network's test: requests go through junction.inject (no socket).
const fetch = injectedFetch(() => j);
beforeAll(async () => {
  j = await startJunction({ config, baseDir: REPO_ROOT, listen: false });
});
afterAll(async () => {
  await j?.close();
});

async function post(objective: string, body: unknown): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(`${j.url}/v1/objectives/${objective}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

const square = [
  [0, 0, 0, 0, 0, 0, 0, 0],
  [0, 1, 1, 1, 1, 0, 0, 0],
  [0, 1, 0, 0, 1, 0, 0, 0],
  [0, 1, 0, 0, 1, 0, 0, 0],
  [0, 1, 1, 1, 1, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
];
const vertical = square.map((_, r) => square[r]!.map((_, c) => (c === 6 && r > 0 && r < 7 ? 1 : 0)));

describe('json shape', () => {
  it('scores a batch of rows and answers with the batch dimension', async () => {
    const r = await post('rank', {
      inputs: {
        features: [
          [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0],
          [0.1, 0.1, 0.2, 0.2, 0.3, 0.1, 0.1, 1],
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-model')).toBe('ranker@6');
    const score = r.json.outputs.score as number[][];
    expect(score).toHaveLength(2);
    expect(score[0]).toHaveLength(1);
    // A half-watched, recent title outranks a finished one.
    expect(score[0]![0]!).toBeGreaterThan(score[1]![0]!);
  });

  it('answers one example sent without the batch dimension without it', async () => {
    const batched = await post('rank', { inputs: { features: [[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0]] } });
    const single = await post('rank', { inputs: { features: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0] } });
    expect(single.json.outputs.score).toEqual(batched.json.outputs.score[0]);
  });

  it('classifies an 8×8 image given as rows, as a flat list or with every dimension, with top-k labels', async () => {
    const rows = await post('shapes', { inputs: { image: square }, topK: 2 });
    expect(rows.status).toBe(200);
    expect(rows.json.labels).toHaveLength(2);
    expect(rows.json.labels[0].label).toBe('square');
    expect(rows.json.outputs.probabilities).toHaveLength(5);
    const flat = await post('shapes', { inputs: { image: square.flat() } });
    expect(flat.json.outputs).toEqual(rows.json.outputs);
    const full = await post('shapes', { inputs: { image: [[square], [vertical]] } });
    expect(full.json.labels.map((l: Array<{ label: string }>) => l[0]!.label)).toEqual(['square', 'vertical-line']);
    expect(full.json.outputs.probabilities[0]).toEqual(rows.json.outputs.probabilities);
  });

  it('refuses a wrong input name, naming what the model takes', async () => {
    const r = await post('rank', { inputs: { feature: [[1, 2, 3, 4, 5, 6, 7, 8]] } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_request');
    expect(r.json.error.message).toContain('unknown input "feature"');
    expect(r.json.error.message).toContain('features (float32 [?,8])');
  });

  it('refuses a wrong shape, naming the input and the expected shape', async () => {
    const r = await post('rank', { inputs: { features: [[1, 2, 3]] } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/input "features" has shape \[1,3\]; the model expects \[batch,8\]/);
  });

  it('refuses a wrong element type and a body without inputs', async () => {
    const r = await post('rank', { inputs: { features: [['a', 2, 3, 4, 5, 6, 7, 8]] } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('input "features" expects finite numbers (float32)');
    const none = await post('rank', { features: [1] });
    expect(none.status).toBe(400);
    expect(none.json.error.message).toContain('{"inputs"');
    const bad = await fetch(`${j.url}/v1/objectives/rank`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
  });
});

describe('Open Inference Protocol', () => {
  it('infers with OIP tensors through an oip objective', async () => {
    const r = await post('rank-oip', {
      id: 'req-1',
      inputs: [
        {
          name: 'features',
          shape: [2, 8],
          datatype: 'FP32',
          data: [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.1, 0.1, 1],
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model_name: 'ranker', model_version: '6', id: 'req-1' });
    expect(r.json.outputs[0]).toMatchObject({ name: 'score', datatype: 'FP32', shape: [2, 1] });
    expect(r.json.outputs[0].data).toHaveLength(2);
  });

  it('refuses a wrong datatype or a shape that does not match the data', async () => {
    const dtype = await post('rank-oip', {
      inputs: [{ name: 'features', shape: [1, 8], datatype: 'INT64', data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    });
    expect(dtype.status).toBe(400);
    expect(dtype.json.error.message).toContain('input "features" has datatype INT64; the model expects FP32');
    const count = await post('rank-oip', {
      inputs: [{ name: 'features', shape: [2, 8], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(count.status).toBe(400);
    expect(count.json.error.message).toContain('needs 16 values, data has 3');
  });

  it('answers the OIP face: infer, metadata and readiness', async () => {
    const infer = await fetch(`${j.url}/v2/models/rank-oip/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: [[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0]] }],
      }),
    });
    expect(infer.status).toBe(200);
    expect(infer.headers.get('x-model')).toBe('ranker@6');
    expect((await infer.json()).outputs[0]).toMatchObject({ name: 'score', shape: [1, 1] });
    const meta = await fetch(`${j.url}/v2/models/rank-oip`);
    expect(meta.status).toBe(200);
    expect(await meta.json()).toEqual({
      name: 'ranker',
      versions: ['6'],
      platform: 'onnxruntime',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
    });
    const ready = await fetch(`${j.url}/v2/models/rank-oip/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: 'ranker', ready: true });
  });

  it('answers OIP errors in the OIP shape', async () => {
    const res = await fetch(`${j.url}/v2/models/rank-oip/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'nope', shape: [1], datatype: 'FP32', data: [1] }] }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-error-code')).toBe('invalid_request');
    expect((await res.json()).error).toContain('unknown input "nope"');
  });
});

describe('dynamic batching', () => {
  it('merges requests to every target naming the same file with the same settings', () => {
    expect(backendOf(j, 'ranker@twin').model.batcher).toBe(backendOf(j, 'ranker@6').model.batcher);
    expect(backendOf(j, 'ranker@solo').model.batcher).not.toBe(backendOf(j, 'ranker@6').model.batcher);
  });

  it('merges concurrent requests into fewer runs, and batched outputs equal unbatched ones', async () => {
    const rows = (i: number) =>
      Array.from({ length: 1 + (i % 3) }, (_, r) =>
        Array.from({ length: 8 }, (_, f) => ((i * 7 + r * 3 + f) % 10) / 10),
      );
    const bodies = Array.from({ length: 24 }, (_, i) => ({ inputs: { features: rows(i) } }));
    const stats = backendOf(j, 'ranker@6').model.batcher.stats;
    const before = { ...stats };
    const batched = await Promise.all(bodies.map((b) => post('rank', b)));
    const solo = await Promise.all(bodies.map((b) => post('rank-solo', b)));
    expect(stats.requests - before.requests).toBe(24);
    expect(stats.runs - before.runs).toBeLessThan(24);
    for (let i = 0; i < bodies.length; i++) {
      expect(batched[i]!.status).toBe(200);
      expect(batched[i]!.json.outputs.score).toHaveLength(rows(i).length);
      const a = (batched[i]!.json.outputs.score as number[][]).flat();
      const b = (solo[i]!.json.outputs.score as number[][]).flat();
      expect(a).toEqual(b);
    }
  });
});

describe('sessions', () => {
  it('shares one session between targets naming the same file; another Junction in the process has its own', async () => {
    // ranker@6, @twin and @solo name the same file: two sessions in all, not four.
    expect(j.runtime.sessions.files).toHaveLength(2);
    const other = await startJunction({ config, baseDir: REPO_ROOT, port: 0 });
    expect(other.runtime.sessions.files).toEqual(j.runtime.sessions.files);
    await other.close();
    expect(other.runtime.sessions.files).toEqual([]);
    expect(j.runtime.sessions.files).toHaveLength(2);
  });

  it('keeps a session across applies that still use its file and releases it after the last one', async () => {
    const solo = (path: string, maxBatch: number) =>
      validateConfig({
        models: { m: { versions: { '1': onnx(path, { maxBatch }) } } },
        objectives: { x: { default: 'm@1' } },
      });
    const other = await startJunction({ config: solo('models/shapes-1.onnx', 1), baseDir: REPO_ROOT, port: 0 });
    const files = () => other.runtime.sessions.files.map((f) => f.slice(REPO_ROOT.length + 1));
    expect(files()).toEqual(['models/shapes-1.onnx']);
    // A changed backend config builds a new backend; the file's session is shared, not reopened.
    await other.runtime.apply(solo('models/shapes-1.onnx', 8), { number: 2, source: null, baseDir: REPO_ROOT });
    expect(files()).toEqual(['models/shapes-1.onnx']);
    await other.runtime.apply(solo('models/ranker-6.onnx', 1), { number: 3, source: null, baseDir: REPO_ROOT });
    expect(files()).toEqual(['models/ranker-6.onnx']);
    await other.close();
    expect(files()).toEqual([]);
  });

  it('refuses a config whose model file is missing, naming the file and its config path', async () => {
    const bad = {
      models: { ranker: { class: 'scorer', versions: { '6': onnx('models/nope.onnx') } } },
      objectives: { rank: { default: 'ranker@6' } },
    };
    const err = await startJunction({ config: bad, baseDir: REPO_ROOT, port: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]!.path).toBe('models.ranker.versions.6.backend.path');
    expect((err as ConfigError).message).toContain('nope.onnx');
  });

  it('refuses a broken model file on apply and keeps the running revision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-onnx-'));
    writeFileSync(join(dir, 'broken.onnx'), 'this is not a model');
    const bad = validateConfig({
      models: { m: { versions: { '1': onnx('broken.onnx') } } },
      objectives: { x: { default: 'm@1' } },
    });
    const live = j.runtime.current;
    await expect(j.runtime.apply(bad, { number: 99, source: bad, baseDir: dir })).rejects.toThrow(
      /models\.m\.versions\.1\.backend\.path: cannot load ONNX model .*broken\.onnx/,
    );
    expect(j.runtime.current).toBe(live);
    expect(j.runtime.sessions.files).toHaveLength(2);
  });
});
