// What a model takes and gives, read once from the session: names, element
// types and shapes (null = a dynamic dimension), and the OIP datatype names.
import type * as ort from 'onnxruntime-node';

export type Dim = number | null;

export interface TensorSpec {
  readonly name: string;
  readonly type: ort.Tensor.Type;
  readonly shape: readonly Dim[];
}

/** ONNX element types ↔ Open Inference Protocol datatypes. */
export const OIP_DATATYPE: Partial<Record<ort.Tensor.Type, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

export function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) return { name: m.name, type: 'float32', shape: [] };
    return {
      name: m.name,
      type: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null)),
    };
  });
}

/** `[batch,1,8,8]`: how shapes read in error messages. */
export function describeShape(shape: readonly Dim[]): string {
  return `[${shape.map((d, i) => (d === null ? (i === 0 ? 'batch' : '?') : d)).join(',')}]`;
}

/** True when `given` fits `expected` (same rank; fixed dims equal). */
export function fits(given: readonly number[], expected: readonly Dim[]): boolean {
  return given.length === expected.length && expected.every((d, i) => d === null || d === given[i]);
}

/** A model batches when its first dimension is dynamic on every input. */
export function batchable(inputs: readonly TensorSpec[]): boolean {
  return inputs.length > 0 && inputs.every((s) => s.shape.length > 0 && s.shape[0] === null);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
