// ONNX tensors → JSON: nested arrays for the json shape, flat data for OIP.
import type * as ort from 'onnxruntime-node';

/** Plain numbers (int64 → number: ids and counts fit; huge values lose precision). */
export function plainData(tensor: ort.Tensor): unknown[] {
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (tensor.type === 'bool') return Array.from(data as Uint8Array, (b) => b !== 0);
  return Array.from(data as ArrayLike<unknown>);
}

/** Row-major flat data → nested arrays of the given shape. */
export function nest(flat: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const build = (depth: number, offset: number, stride: number): unknown[] => {
    const size = shape[depth]!;
    const inner = stride / size;
    if (depth === shape.length - 1) return flat.slice(offset, offset + size);
    return Array.from({ length: size }, (_, i) => build(depth + 1, offset + i * inner, inner));
  };
  return build(0, 0, flat.length);
}

/** The json shape: nested arrays, without the batch dimension for a single example. */
export function jsonOutput(tensor: ort.Tensor, single: boolean): unknown {
  const dims = tensor.dims as number[];
  return nest(plainData(tensor), single ? dims.slice(1) : dims);
}
