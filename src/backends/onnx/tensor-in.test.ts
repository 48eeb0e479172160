// The json shape's input forms, checked against a model's input spec.
import { describe, expect, it } from 'vitest';
import { JunctionError } from '../../errors.js';
import { jsonInput, oipInput } from './tensor-in.js';
import type { TensorSpec } from './tensor-spec.js';

const image: TensorSpec = { name: 'image', type: 'float32', shape: [null, 1, 2, 2] };
const tokens: TensorSpec = { name: 'ids', type: 'int64', shape: [null, null] };
const fixed: TensorSpec = { name: 'x', type: 'float32', shape: [2, 3] };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JunctionError);
    expect((err as JunctionError).code).toBe('invalid_request');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('jsonInput', () => {
  it.each([
    [
      'every dimension',
      [
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ],
      [1, 1, 2, 2],
      false,
    ],
    [
      'one example without the batch dimension',
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
      [1, 1, 2, 2],
      true,
    ],
    [
      'size-1 dimensions left out',
      [
        [1, 2],
        [3, 4],
      ],
      [1, 1, 2, 2],
      true,
    ],
    [
      'a batch with size-1 dimensions left out',
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      [2, 1, 2, 2],
      false,
    ],
    ['one example as a flat list', [1, 2, 3, 4], [1, 1, 2, 2], true],
  ])('accepts %s', (_, value, dims, single) => {
    const t = jsonInput(image, value);
    expect(t.tensor.dims).toEqual(dims);
    expect(t.single).toBe(single);
    expect(t.rows).toBe(dims[0]);
  });

  it('fills dynamic dimensions from the value and builds int64 from integers', () => {
    const t = jsonInput(tokens, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.tensor.dims).toEqual([2, 3]);
    expect(t.tensor.data).toEqual(BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]));
    expect(jsonInput(tokens, [7, 8]).tensor.dims).toEqual([1, 2]);
  });

  it('takes a fixed-batch input only in its exact shape', () => {
    expect(
      jsonInput(fixed, [
        [1, 2, 3],
        [4, 5, 6],
      ]).tensor.dims,
    ).toEqual([2, 3]);
    expect(refusal(() => jsonInput(fixed, [1, 2, 3]))).toBe('input "x" has shape [3]; the model expects [2,3]');
  });

  it('refuses ragged arrays, wrong element types and wrong shapes, naming the input', () => {
    expect(refusal(() => jsonInput(tokens, [[1, 2], [3]]))).toContain('input "ids": ragged');
    expect(refusal(() => jsonInput(tokens, [[1.5, 2]]))).toBe('input "ids" expects integers (int64); got 1.5');
    expect(refusal(() => jsonInput(image, [1, 2, 3]))).toBe(
      'input "image" has shape [3]; the model expects [batch,1,2,2] or one example [1,2,2]',
    );
  });
});

describe('oipInput', () => {
  it('builds the tensor from flat data and refuses a mismatched shape', () => {
    expect(oipInput(tokens, 'INT64', 'INT64', [1, 3], [1, 2, 3]).tensor.dims).toEqual([1, 3]);
    expect(refusal(() => oipInput(image, 'FP32', 'FP32', [1, 4], [1, 2, 3, 4]))).toBe(
      'input "image" has shape [1,4]; the model expects [batch,1,2,2]',
    );
  });
});
