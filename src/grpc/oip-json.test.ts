import { describe, expect, it } from 'vitest';
import { JunctionError } from '../errors.js';
import {
  inferRequestFromJson,
  inferRequestToJson,
  inferResponseFromJson,
  inferResponseToJson,
  metadataFromJson,
  rawBytes,
  rawData,
} from './oip-json.js';
import type { InferRequestMessage } from './service.js';

const message = (inputs: InferRequestMessage['inputs'], raw: Buffer[] = []): InferRequestMessage => ({
  model_name: 'm',
  model_version: '',
  id: '',
  inputs,
  outputs: [],
  raw_input_contents: raw,
});

describe('gRPC ModelInfer as OIP JSON (in-process models)', () => {
  it('reads raw little-endian contents by datatype', () => {
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-3n, 0);
    i64.writeBigInt64LE(7n, 8);
    const bytes = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
    const json = inferRequestToJson(
      message(
        [
          { name: 'a', datatype: 'INT64', shape: ['2'], contents: null },
          { name: 'b', datatype: 'BYTES', shape: ['2'], contents: null },
          { name: 'c', datatype: 'BOOL', shape: ['2'], contents: null },
          { name: 'd', datatype: 'FP32', shape: ['1'], contents: null },
        ],
        [i64, bytes, Buffer.from([1, 0]), Buffer.from(Float32Array.of(1.5).buffer).subarray(0)],
      ),
      'o',
    );
    expect((json.inputs as Array<{ data: unknown }>).map((t) => t.data)).toEqual([
      [-3, 7],
      ['hi', ''],
      [true, false],
      [1.5],
    ]);
  });

  it('reads typed contents; int64 lists arrive as strings', () => {
    const json = inferRequestToJson(
      message([{ name: 'a', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['5', '6'] } }]),
      'o',
    );
    expect(json).toEqual({ inputs: [{ name: 'a', datatype: 'INT64', shape: [2], data: [5, 6] }] });
  });

  it('refuses what it cannot read as invalid_request', () => {
    const bad = (m: InferRequestMessage) => expect(() => inferRequestToJson(m, 'o')).toThrow(JunctionError);
    bad(message([{ name: 'a', datatype: 'FP32', shape: ['1'], contents: null }], [Buffer.alloc(3)]));
    bad(message([{ name: 'a', datatype: 'FP16', shape: ['1'], contents: null }], [Buffer.alloc(2)]));
    bad(
      message(
        [
          { name: 'a', datatype: 'FP32', shape: ['1'], contents: null },
          { name: 'b', datatype: 'FP32', shape: ['1'], contents: null },
        ],
        [Buffer.alloc(4)],
      ),
    );
    bad(message([{ name: 'a', datatype: 'BYTES', shape: ['1'], contents: null }], [Buffer.from([9, 0, 0, 0, 1])]));
  });
});

describe('OIP JSON answers as gRPC responses', () => {
  it('puts flat or nested data in the typed list of its datatype', () => {
    expect(
      inferResponseFromJson({
        model_name: 'ranker',
        model_version: '6',
        outputs: [
          { name: 'score', datatype: 'FP32', shape: [2, 1], data: [[0.5], [0.25]] },
          { name: 'label', datatype: 'BYTES', shape: [1], data: ['cat'] },
        ],
      }),
    ).toEqual({
      model_name: 'ranker',
      model_version: '6',
      id: '',
      outputs: [
        { name: 'score', datatype: 'FP32', shape: [2, 1], contents: { fp32_contents: [0.5, 0.25] } },
        { name: 'label', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('cat')] } },
      ],
    });
    expect(
      metadataFromJson({ name: 'r', versions: ['6'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }] }),
    ).toMatchObject({ name: 'r', versions: ['6'], platform: '', inputs: [{ name: 'x', shape: [-1, 8] }], outputs: [] });
  });
});

describe('OIP JSON for a gRPC backend (HTTP callers)', () => {
  it('encodes inputs as typed contents and decodes raw or typed outputs back to data', () => {
    expect(
      inferRequestFromJson(
        {
          id: 'x',
          inputs: [{ name: 'a', datatype: 'BOOL', shape: [2], data: [true, false] }],
          outputs: [{ name: 'y' }],
        },
        'o',
      ),
    ).toEqual({
      id: 'x',
      parameters: {},
      inputs: [{ name: 'a', datatype: 'BOOL', shape: [2], parameters: {}, contents: { bool_contents: [true, false] } }],
      outputs: [{ name: 'y' }],
    });
    expect(() =>
      inferRequestFromJson({ inputs: [{ name: 'a', datatype: 'FP16', shape: [1], data: [1] }] }, 'o'),
    ).toThrow(JunctionError);
    expect(() => inferRequestFromJson({}, 'o')).toThrow(/"inputs"/);
    const answer = inferResponseToJson(
      {
        model_name: 'm',
        model_version: '2',
        id: '',
        outputs: [{ name: 'y', datatype: 'FP64', shape: ['1', '2'], contents: null }],
        raw_output_contents: [Buffer.from(Float64Array.of(0.5, -2).buffer)],
      },
      'o',
    );
    expect(answer).toEqual({
      model_name: 'm',
      model_version: '2',
      outputs: [{ name: 'y', datatype: 'FP64', shape: [1, 2], data: [0.5, -2] }],
    });
  });
});

describe('rawBytes (JSON values → raw tensor bytes)', () => {
  it('is the inverse of rawData for every datatype gRPC carries raw', () => {
    const cases: Array<[string, unknown[]]> = [
      ['BOOL', [true, false, true]],
      ['INT8', [-128, 0, 127]],
      ['UINT8', [0, 255]],
      ['INT16', [-32768, 32767]],
      ['UINT16', [65535]],
      ['INT32', [-2147483648, 7]],
      ['UINT32', [4294967295]],
      ['INT64', [-3, 2 ** 40]],
      ['UINT64', [2 ** 52]],
      ['FP32', [0.5, -2, 1e10]],
      ['FP64', [Math.PI, -0.1]],
      ['BYTES', ['a', '', 'caf\u00e9']],
    ];
    for (const [datatype, values] of cases) {
      expect(rawData('x', datatype, rawBytes('x', datatype, values, 'o'), 'o'), datatype).toEqual(values);
    }
  });

  it('keeps 64-bit integers sent as strings exact, and refuses what is not an integer', () => {
    expect(rawBytes('x', 'INT64', ['-9223372036854775808'], 'o').readBigInt64LE(0)).toBe(-9223372036854775808n);
    expect(() => rawBytes('x', 'INT64', [1.5], 'o')).toThrow(JunctionError);
    expect(() => rawBytes('x', 'UINT64', ['twelve'], 'o')).toThrow(/not a UINT64 value/);
    expect(() => rawBytes('x', 'FP16', [1], 'o')).toThrow(/cannot be sent as JSON data/);
  });
});
