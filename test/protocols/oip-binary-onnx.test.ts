// The OIP REST binary data extension answered by in-process ONNX Runtime with
// the repo's real models: binary inputs (aligned views and misaligned copies),
// binary outputs when asked (for all outputs, or per output), the same numbers
// as the JSON path, and every malformed body refused with a 400 in OIP's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { REPO_ROOT } from '../support/onnx.js';

const config = {
  models: {
    ranker: { class: 'scorer', versions: { '6': { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } } } },
    shapes: { class: 'classifier', versions: { '2': { backend: { type: 'onnx', path: 'models/shapes-2.onnx' } } } },
  },
  objectives: {
    rank: { interface: 'oip', default: 'ranker@6' },
    shapes: { interface: 'oip', default: 'shapes@2' },
  },
};

const ROWS = [
  [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0],
  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
  [0, 0, 0, 0, 0, 0, 0, 1],
];

function fp32(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** A binary body: the JSON header (padded with spaces to `pad` bytes more, to move the tensor's offset), then the tensors. */
function binaryBody(header: object, tensors: Buffer[], pad = 0): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header) + ' '.repeat(pad));
  return { body: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

function rankerHeader(size: number, extra: object = {}) {
  return {
    inputs: [{ name: 'features', shape: [3, 8], datatype: 'FP32', parameters: { binary_data_size: size } }],
    ...extra,
  };
}

let j: Junction;
beforeAll(async () => {
  j = await startJunction({ config, baseDir: REPO_ROOT, port: 0 });
});
afterAll(async () => {
  await j?.close();
});

async function infer(objective: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await request(`${j.url}/v2/models/${objective}/infer`, { method: 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, raw: Buffer.from(await res.body.arrayBuffer()) };
}

async function binaryInfer(objective: string, body: Buffer, headerLength: number | string) {
  return infer(objective, body, {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(headerLength),
  });
}

/** The scores of the JSON path, to compare every binary answer with. */
async function jsonScores(): Promise<number[]> {
  const res = await infer(
    'rank',
    JSON.stringify({ inputs: [{ name: 'features', shape: [3, 8], datatype: 'FP32', data: ROWS.flat() }] }),
    { 'content-type': 'application/json' },
  );
  expect(res.status).toBe(200);
  return (JSON.parse(res.raw.toString()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
}

interface Answer {
  outputs: Array<{ name: string; shape: number[]; data?: number[]; parameters?: { binary_data_size: number } }>;
}

describe('in-process ONNX and the OIP binary data extension', () => {
  it('takes binary input tensors, aligned or not, and answers JSON unless binary is asked for', async () => {
    const expected = await jsonScores();
    const tensor = fp32(ROWS.flat());
    // Pads 0..3 put the tensor at every offset modulo 4: views and copies alike.
    for (const pad of [0, 1, 2, 3]) {
      const { body, headerLength } = binaryBody(rankerHeader(tensor.length), [tensor], pad);
      const res = await binaryInfer('rank', body, headerLength);
      expect(res.status, res.raw.toString()).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['inference-header-content-length']).toBeUndefined();
      const answer = JSON.parse(res.raw.toString()) as Answer;
      expect(answer.outputs[0]!.data).toEqual(expected);
    }
  });

  it('answers binary outputs when the request asks for them all (binary_data_output)', async () => {
    const expected = await jsonScores();
    const tensor = fp32(ROWS.flat());
    const { body, headerLength } = binaryBody(
      rankerHeader(tensor.length, { parameters: { binary_data_output: true } }),
      [tensor],
    );
    const res = await binaryInfer('rank', body, headerLength);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const jsonLength = Number(res.headers['inference-header-content-length']);
    expect(Number(res.headers['content-length'])).toBe(res.raw.length);
    const header = JSON.parse(res.raw.subarray(0, jsonLength).toString()) as Answer;
    expect(header.outputs).toEqual([
      { name: 'score', datatype: 'FP32', shape: [3, 1], parameters: { binary_data_size: 12 } },
    ]);
    const bytes = res.raw.subarray(jsonLength);
    expect(bytes.length).toBe(12);
    expect([0, 1, 2].map((i) => bytes.readFloatLE(i * 4))).toEqual(expected.map((v) => Math.fround(v)));
  });

  it('lets an output say binary_data itself, over the request-wide setting, and answers a JSON body in binary', async () => {
    const tensor = fp32(ROWS.flat());
    // The request-wide setting says binary; the output's own false wins: plain JSON back.
    const off = binaryBody(
      rankerHeader(tensor.length, {
        parameters: { binary_data_output: true },
        outputs: [{ name: 'score', parameters: { binary_data: false } }],
      }),
      [tensor],
    );
    const json = await binaryInfer('rank', off.body, off.headerLength);
    expect(json.headers['content-type']).toBe('application/json');
    expect((JSON.parse(json.raw.toString()) as Answer).outputs[0]!.data).toHaveLength(3);

    // A plain JSON request may ask for a binary answer too.
    const square = Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 1 : 0));
    const res = await infer(
      'shapes',
      JSON.stringify({
        inputs: [{ name: 'image', shape: [1, 1, 8, 8], datatype: 'FP32', data: square }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
      }),
    );
    expect(res.status).toBe(200);
    const jsonLength = Number(res.headers['inference-header-content-length']);
    const header = JSON.parse(res.raw.subarray(0, jsonLength).toString()) as Answer;
    expect(header.outputs[0]).toMatchObject({
      name: 'probabilities',
      shape: [1, 5],
      parameters: { binary_data_size: 20 },
    });
    const probabilities = [0, 1, 2, 3, 4].map((i) => res.raw.readFloatLE(jsonLength + i * 4));
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it('answers the same binary request the same way through /v1/objectives', async () => {
    const tensor = fp32(ROWS.flat());
    const { body, headerLength } = binaryBody(rankerHeader(tensor.length), [tensor], 1);
    const res = await request(`${j.url}/v1/objectives/rank`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(headerLength) },
      body,
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as Answer).outputs[0]!.data).toEqual(await jsonScores());
  });

  describe('refuses malformed binary bodies with 400 invalid_request in the OIP shape', () => {
    const tensor = fp32(ROWS.flat());
    const good = binaryBody(rankerHeader(tensor.length), [tensor]);
    const over = binaryBody(rankerHeader(tensor.length + 4), [tensor]);
    const cases: Array<[string, Buffer, number | string, RegExp]> = [
      ['a header length larger than the body', good.body, good.body.length + 1, /larger than the whole body/],
      ['a non-numeric header length', good.body, 'abc', /must be one byte count/],
      ['a negative header length', good.body, '-1', /must be one byte count/],
      ['a huge header length', good.body, '9'.repeat(40), /must be one byte count/],
      [
        'a JSON header that is not JSON',
        good.body,
        good.headerLength - 1,
        /the JSON header \(the first \d+ bytes, per Inference-Header-Content-Length\) is refused: request body is not valid JSON/,
      ],
      [
        'binary_data_size values adding up to more than the bytes that follow',
        over.body,
        over.headerLength,
        /add up to more than the 96 bytes/,
      ],
      [
        'bytes left over after the inputs',
        Buffer.concat([good.body, Buffer.alloc(4)]),
        good.headerLength,
        /4 of the 100 bytes after the JSON header belong to no input/,
      ],
      [
        'a binary_data_size that does not fit the shape and datatype',
        binaryBody(rankerHeader(tensor.length - 4), [tensor.subarray(4)]).body,
        binaryBody(rankerHeader(tensor.length - 4), []).headerLength,
        /binary_data_size is 92 bytes; shape \[3,8\] of float32 \(4 bytes each\) needs 96/,
      ],
      [
        'a negative binary_data_size',
        binaryBody(rankerHeader(-4), []).body,
        binaryBody(rankerHeader(-4), []).headerLength,
        /binary_data_size must be a non-negative integer/,
      ],
      [
        'an input with both data and binary_data_size',
        binaryBody(
          {
            inputs: [
              {
                name: 'features',
                shape: [3, 8],
                datatype: 'FP32',
                data: ROWS.flat(),
                parameters: { binary_data_size: 96 },
              },
            ],
          },
          [tensor],
        ).body,
        binaryBody(
          {
            inputs: [
              {
                name: 'features',
                shape: [3, 8],
                datatype: 'FP32',
                data: ROWS.flat(),
                parameters: { binary_data_size: 96 },
              },
            ],
          },
          [],
        ).headerLength,
        /both "data" and binary_data_size/,
      ],
    ];
    it.each(cases)('%s', async (_name, body, headerLength, message) => {
      const res = await binaryInfer('rank', body, headerLength);
      expect(res.status).toBe(400);
      expect(res.headers['x-error-code']).toBe('invalid_request');
      expect((JSON.parse(res.raw.toString()) as { error: string }).error).toMatch(message);
    });

    it('a header length larger than a chunked body (no content-length), found when the body is read', async () => {
      const res = await request(`${j.url}/v2/models/rank/infer`, {
        method: 'POST',
        headers: { 'inference-header-content-length': String(good.body.length + 10) },
        body: Readable.from([good.body]),
      });
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as { error: string }).error).toMatch(/larger than the whole body/);
    });
  });
});
