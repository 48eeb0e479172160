// JSON values → ONNX tensors, checked against the model's input spec. Every
// refusal is a 400 naming the input and what the model expects.
import * as ort from 'onnxruntime-node';
import { JunctionError } from '../../errors.js';
import { describeShape, elementCount, fits, type TensorSpec } from './tensor-spec.js';

export interface InputTensor {
  tensor: ort.Tensor;
  /** Rows along the batch dimension (1 for a single example). */
  rows: number;
  /** The caller sent one example without the batch dimension. */
  single: boolean;
}

function invalid(message: string): JunctionError {
  return new JunctionError('invalid_request', message);
}

/** Shape of a nested array and its leaves in row-major order; refuses ragged arrays. */
export function flattenNested(name: string, value: unknown): { shape: number[]; leaves: unknown[] } {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const leaves: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v))
        throw invalid(`input "${name}": ragged nested array (deeper at some positions than others)`);
      leaves.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw invalid(
        `input "${name}": ragged nested array (dimension ${depth} should have ${shape[depth]} elements everywhere)`,
      );
    }
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { shape, leaves };
}

/** Leaves → the typed array ONNX Runtime wants for the spec's element type. */
export function typedData(spec: TensorSpec, leaves: readonly unknown[]): ort.Tensor.DataType {
  const bad = (what: string) =>
    invalid(`input "${spec.name}" expects ${what} (${spec.type}); got ${JSON.stringify(leaves.find((v) => !ok(v)))}`);
  let ok: (v: unknown) => boolean;
  switch (spec.type) {
    case 'float32':
    case 'float64': {
      ok = (v) => typeof v === 'number' && Number.isFinite(v);
      if (!leaves.every(ok)) throw bad('finite numbers');
      return spec.type === 'float32' ? Float32Array.from(leaves as number[]) : Float64Array.from(leaves as number[]);
    }
    case 'int64':
    case 'uint64': {
      ok = (v) => typeof v === 'number' && Number.isSafeInteger(v) && (spec.type === 'int64' || v >= 0);
      if (!leaves.every(ok)) throw bad('integers');
      const out = spec.type === 'int64' ? new BigInt64Array(leaves.length) : new BigUint64Array(leaves.length);
      for (let i = 0; i < leaves.length; i++) out[i] = BigInt(leaves[i] as number);
      return out;
    }
    case 'int32':
    case 'int16':
    case 'int8':
    case 'uint32':
    case 'uint16':
    case 'uint8': {
      const Arr = {
        int32: Int32Array,
        int16: Int16Array,
        int8: Int8Array,
        uint32: Uint32Array,
        uint16: Uint16Array,
        uint8: Uint8Array,
      }[spec.type];
      const probe = new Arr(1);
      ok = (v) => typeof v === 'number' && Number.isInteger(v) && ((probe[0] = v), probe[0] === v);
      if (!leaves.every(ok)) throw bad('integers in range');
      return Arr.from(leaves as number[]);
    }
    case 'bool':
      ok = (v) => typeof v === 'boolean';
      if (!leaves.every(ok)) throw bad('booleans');
      return Uint8Array.from(leaves as boolean[], (b) => (b ? 1 : 0));
    case 'string':
      ok = (v) => typeof v === 'string';
      if (!leaves.every(ok)) throw bad('strings');
      return [...(leaves as string[])];
    default:
      throw invalid(`input "${spec.name}" has element type ${spec.type}, which Junction cannot build from JSON`);
  }
}

/**
 * One input of the JSON shape: a nested array with the batch dimension, one
 * example without it, size-1 dimensions left out (an 8×8 image for a
 * [batch,1,8,8] input), or one example as a flat list of numbers.
 */
export function jsonInput(spec: TensorSpec, value: unknown): InputTensor {
  const { shape: given, leaves } = flattenNested(spec.name, value);
  const per = spec.shape.slice(1);
  const squeezed = per.filter((d) => d !== 1);
  // Puts the left-out size-1 dimensions back.
  const fill = (dims: readonly (number | null)[], from: readonly number[]) => {
    let k = 0;
    return dims.map((d) => (d === 1 ? 1 : from[k++]!));
  };
  let shape: number[] | undefined;
  let single = false;
  if (spec.shape[0] !== null) {
    if (fits(given, spec.shape)) shape = given;
  } else if (fits(given, spec.shape)) {
    shape = given;
  } else if (fits(given, per)) {
    shape = [1, ...given];
    single = true;
  } else if (given.length === squeezed.length + 1 && fits(given.slice(1), squeezed)) {
    shape = [given[0]!, ...fill(per, given.slice(1))];
  } else if (fits(given, squeezed)) {
    shape = [1, ...fill(per, given)];
    single = true;
  } else if (given.length === 1 && per.every((d) => d !== null) && given[0] === elementCount(per)) {
    shape = [1, ...per];
    single = true;
  }
  if (shape === undefined) {
    const alt = spec.shape[0] === null ? ` or one example ${describeShape(per)}` : '';
    throw invalid(
      `input "${spec.name}" has shape [${given.join(',')}]; the model expects ${describeShape(spec.shape)}${alt}`,
    );
  }
  return { tensor: new ort.Tensor(spec.type, typedData(spec, leaves), shape), rows: shape[0] ?? 1, single };
}

/** An OIP input's declared datatype and shape, checked against the model's input: its dimensions. */
export function oipShape(spec: TensorSpec, datatype: string, expectedDatatype: string, shape: unknown): number[] {
  if (datatype !== expectedDatatype) {
    throw invalid(`input "${spec.name}" has datatype ${datatype}; the model expects ${expectedDatatype}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalid(`input "${spec.name}": shape must be a list of non-negative integers`);
  }
  if (!fits(shape as number[], spec.shape)) {
    throw invalid(
      `input "${spec.name}" has shape [${shape.join(',')}]; the model expects ${describeShape(spec.shape)}`,
    );
  }
  return shape as number[];
}

/** One OIP input `{name, shape, datatype, data}`; `data` flat or nested, row-major. */
export function oipInput(
  spec: TensorSpec,
  datatype: string,
  expectedDatatype: string,
  shape: unknown,
  data: unknown,
): InputTensor {
  const dims = oipShape(spec, datatype, expectedDatatype, shape);
  const { leaves } = flattenNested(spec.name, data);
  if (leaves.length !== elementCount(dims)) {
    throw invalid(
      `input "${spec.name}": shape [${dims.join(',')}] needs ${elementCount(dims)} values, data has ${leaves.length}`,
    );
  }
  return { tensor: new ort.Tensor(spec.type, typedData(spec, leaves), dims), rows: dims[0] ?? 1, single: false };
}
