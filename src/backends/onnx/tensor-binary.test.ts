import { describe, expect, it } from 'vitest';
import { binaryInput, tensorBytes } from './tensor-binary.js';
import type { TensorSpec } from './tensor-spec.js';

const features: TensorSpec = { name: 'features', type: 'float32', shape: [null, 2] };

function fp32At(offset: number, values: number[]): Buffer {
  const whole = Buffer.alloc(offset + values.length * 4);
  values.forEach((v, i) => whole.writeFloatLE(v, offset + i * 4));
  return whole.subarray(offset);
}

describe('binary tensors', () => {
  it('views an aligned tensor in the received bytes, without a copy', () => {
    const bytes = fp32At(8, [1.5, -2, 3, 4]);
    const { tensor, rows } = binaryInput(features, 'FP32', 'FP32', [2, 2], bytes);
    expect(rows).toBe(2);
    const data = tensor.data as Float32Array;
    expect(data.buffer).toBe(bytes.buffer);
    expect(Array.from(data)).toEqual([1.5, -2, 3, 4]);
  });

  it('copies a misaligned tensor once, with the same values', () => {
    const bytes = fp32At(3, [1.5, -2, 3, 4]);
    const data = binaryInput(features, 'FP32', 'FP32', [2, 2], bytes).tensor.data as Float32Array;
    expect(data.buffer).not.toBe(bytes.buffer);
    expect(Array.from(data)).toEqual([1.5, -2, 3, 4]);
  });

  it('reads BYTES as length-prefixed strings and writes them back the same way', () => {
    const spec: TensorSpec = { name: 'text', type: 'string', shape: [null] };
    const parts = ['héllo', '', 'x'].map((s) => Buffer.from(s));
    const bytes = Buffer.concat(parts.flatMap((p) => [Buffer.from(Uint32Array.of(p.length).buffer), p]));
    const { tensor } = binaryInput(spec, 'BYTES', 'BYTES', [3], bytes);
    expect(tensor.data).toEqual(['héllo', '', 'x']);
    expect(tensorBytes(tensor).equals(bytes)).toBe(true);
    expect(() => binaryInput(spec, 'BYTES', 'BYTES', [3], bytes.subarray(0, bytes.length - 1))).toThrow(
      /runs past its binary_data_size/,
    );
    expect(() => binaryInput(spec, 'BYTES', 'BYTES', [2], bytes)).toThrow(/needs 2 BYTES elements, the data has 3/);
  });

  it('takes int64 and bool in their native sizes, and refuses a size that does not fit shape × datatype', () => {
    const ids: TensorSpec = { name: 'ids', type: 'int64', shape: [null, 2] };
    const bytes = Buffer.from(BigInt64Array.of(7n, -1n).buffer);
    expect(Array.from(binaryInput(ids, 'INT64', 'INT64', [1, 2], bytes).tensor.data as BigInt64Array)).toEqual([
      7n,
      -1n,
    ]);
    expect(() => binaryInput(ids, 'INT64', 'INT64', [1, 2], bytes.subarray(1))).toThrow(/needs 16/);
    const flags: TensorSpec = { name: 'flags', type: 'bool', shape: [2] };
    const t = binaryInput(flags, 'BOOL', 'BOOL', [2], Buffer.from([1, 0]));
    expect(tensorBytes(t.tensor).equals(Buffer.from([1, 0]))).toBe(true);
  });

  it('gives an output tensor’s own memory as its bytes', () => {
    const { tensor } = binaryInput(features, 'FP32', 'FP32', [1, 2], fp32At(0, [0.25, 8]));
    const out = tensorBytes(tensor);
    expect(out.buffer).toBe((tensor.data as Float32Array).buffer);
    expect([out.readFloatLE(0), out.readFloatLE(4)]).toEqual([0.25, 8]);
  });
});
