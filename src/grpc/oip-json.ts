// Between the gRPC messages and the Open Inference Protocol's JSON shapes, for
// the places where one side speaks JSON: in-process ONNX reads a gRPC
// ModelInfer as the JSON request it already understands, and a JSON answer
// (in-process ONNX, an HTTP `oip` backend, a static fallback) goes back to a
// gRPC caller as protobuf. Requests to gRPC backends never come through here.
import { JunctionError } from '../errors.js';
import type { InferRequestMessage, TensorContents } from './service.js';

type Json = Record<string, unknown>;

/** Which InferTensorContents list holds each datatype. */
const CONTENTS_FIELD: Readonly<Record<string, keyof TensorContents>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** A JSON value as protobuf string text: a string as it is, '' when absent, anything else as
 *  JSON (a number spelled as String spells it; an object as JSON, not "[object Object]"). */
function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

type NumberArray = ArrayLike<number | bigint>;
const RAW_VIEW: Readonly<Record<string, (b: ArrayBuffer) => NumberArray>> = {
  BOOL: (b) => new Uint8Array(b),
  INT8: (b) => new Int8Array(b),
  INT16: (b) => new Int16Array(b),
  INT32: (b) => new Int32Array(b),
  INT64: (b) => new BigInt64Array(b),
  UINT8: (b) => new Uint8Array(b),
  UINT16: (b) => new Uint16Array(b),
  UINT32: (b) => new Uint32Array(b),
  UINT64: (b) => new BigUint64Array(b),
  FP32: (b) => new Float32Array(b),
  FP64: (b) => new Float64Array(b),
};
const RAW_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

function invalid(message: string, objective: string): JunctionError {
  return new JunctionError('invalid_request', message, { objective });
}

/** Raw little-endian tensor bytes → plain values (the byte order every platform Junction runs on uses). */
export function rawData(name: string, datatype: string, raw: Buffer, objective: string): unknown[] {
  if (datatype === 'BYTES') {
    // Each element: a 4-byte little-endian length, then that many bytes.
    const out: string[] = [];
    for (let i = 0; i < raw.length;) {
      if (i + 4 > raw.length) throw invalid(`raw input "${name}": truncated BYTES element length`, objective);
      const n = raw.readUInt32LE(i);
      if (i + 4 + n > raw.length) throw invalid(`raw input "${name}": BYTES element runs past the end`, objective);
      out.push(raw.toString('utf8', i + 4, i + 4 + n));
      i += 4 + n;
    }
    return out;
  }
  const size = RAW_SIZE[datatype];
  const view = RAW_VIEW[datatype];
  if (size === undefined || view === undefined)
    throw invalid(`raw input "${name}": datatype ${datatype} is not supported by in-process models`, objective);
  if (raw.length % size !== 0)
    throw invalid(`raw input "${name}": ${raw.length} bytes is not a whole number of ${datatype} elements`, objective);
  const aligned = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) as ArrayBuffer; // typed arrays need aligned, owned bytes
  const values = view(aligned);
  if (datatype === 'BOOL') return Array.from(values as Uint8Array, (b) => b !== 0);
  return Array.from(values, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** A gRPC tensor's typed contents as plain values. */
export function typedData(
  name: string,
  datatype: string,
  contents: TensorContents | null,
  objective: string,
): unknown[] {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined)
    throw invalid(`input "${name}": datatype ${datatype} must travel in raw_input_contents`, objective);
  const values = (contents?.[field] ?? []) as unknown[];
  if (field === 'int64_contents' || field === 'uint64_contents') return values.map(Number);
  if (field === 'bytes_contents') return (values as Buffer[]).map((b) => b.toString('utf8'));
  return values;
}

/** A decoded ModelInferRequest as the OIP JSON request body. */
export function inferRequestToJson(msg: InferRequestMessage, objective: string): Json {
  const raw = msg.raw_input_contents;
  if (raw.length > 0 && raw.length !== msg.inputs.length) {
    throw invalid(
      `raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs; give one per input, in order`,
      objective,
    );
  }
  const json: Json = {
    inputs: msg.inputs.map((t, i) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape.map(Number),
      data:
        raw.length > 0
          ? rawData(t.name, t.datatype, raw[i]!, objective)
          : typedData(t.name, t.datatype, t.contents, objective),
    })),
  };
  if (msg.outputs.length > 0) json.outputs = msg.outputs.map((o) => ({ name: o.name }));
  if (msg.id !== '') json.id = msg.id;
  return json;
}

/**
 * Plain values → raw little-endian tensor bytes, the inverse of rawData: BYTES
 * elements as a 4-byte length and their UTF-8, numbers as the datatype's
 * typed array (64-bit integers through BigInt, so values above 2^53 sent as
 * JSON strings or numbers keep what JSON kept).
 */
export function rawBytes(name: string, datatype: string, values: readonly unknown[], objective: string): Buffer {
  if (datatype === 'BYTES') {
    const parts = values.map((v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
    const out = Buffer.allocUnsafe(parts.reduce((n, b) => n + 4 + b.length, 0));
    let at = 0;
    for (const b of parts) {
      out.writeUInt32LE(b.length, at);
      b.copy(out, at + 4);
      at += 4 + b.length;
    }
    return out;
  }
  const size = RAW_SIZE[datatype];
  const view = RAW_VIEW[datatype];
  if (size === undefined || view === undefined)
    throw invalid(`input "${name}": datatype ${datatype} cannot be sent as JSON data beside binary tensors`, objective);
  const bytes = new ArrayBuffer(values.length * size);
  const typed = view(bytes) as unknown as { [i: number]: number | bigint };
  const big = datatype === 'INT64' || datatype === 'UINT64';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n = typeof v === 'boolean' ? Number(v) : v;
    if (!big) typed[i] = Number(n);
    else if ((typeof n === 'number' && Number.isInteger(n)) || (typeof n === 'string' && /^-?\d{1,20}$/.test(n)))
      typed[i] = BigInt(n);
    else throw invalid(`input "${name}": ${JSON.stringify(v)} is not a ${datatype} value`, objective);
  }
  return Buffer.from(bytes);
}

export function flat(data: unknown): unknown[] {
  return Array.isArray(data) ? data.flat(Infinity) : data === undefined ? [] : [data];
}

/** An OIP JSON infer answer as a ModelInferResponse value (typed contents). */
export function inferResponseFromJson(json: Json): object {
  const outputs = Array.isArray(json.outputs) ? (json.outputs as Json[]) : [];
  return {
    model_name: text(json.model_name),
    model_version: text(json.model_version),
    id: text(json.id),
    outputs: outputs.map((o) => {
      const datatype = text(o.datatype);
      const field = CONTENTS_FIELD[datatype] ?? 'fp32_contents'; // FP16/BF16 from JSON: as floats, the nearest typed list
      const data = flat(o.data);
      return {
        name: text(o.name),
        datatype,
        shape: Array.isArray(o.shape) ? o.shape : [],
        contents: { [field]: field === 'bytes_contents' ? data.map((v) => Buffer.from(String(v))) : data },
      };
    }),
  };
}

/** An OIP JSON model metadata answer as a ModelMetadataResponse value. */
export function metadataFromJson(json: Json): object {
  const tensors = (v: unknown) =>
    (Array.isArray(v) ? (v as Json[]) : []).map((t) => ({
      name: text(t.name),
      datatype: text(t.datatype),
      shape: Array.isArray(t.shape) ? t.shape : [],
    }));
  return {
    name: text(json.name),
    versions: Array.isArray(json.versions) ? json.versions.map(String) : [],
    platform: text(json.platform),
    inputs: tensors(json.inputs),
    outputs: tensors(json.outputs),
  };
}

/** OIP JSON parameters ({"key": value}) as InferParameter values. */
function parametersFromJson(value: unknown): Record<string, object> {
  const out: Record<string, object> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Json)) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'number') out[k] = Number.isInteger(v) ? { int64_param: v } : { double_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
  }
  return out;
}

/** An OIP JSON infer request as a ModelInferRequest value (typed contents), for an HTTP caller of a gRPC backend. */
export function inferRequestFromJson(json: Json, objective: string): object {
  if (!Array.isArray(json.inputs)) throw invalid('body must have "inputs": [{name, shape, datatype, data}]', objective);
  return {
    id: typeof json.id === 'string' ? json.id : '',
    parameters: parametersFromJson(json.parameters),
    inputs: (json.inputs as Json[]).map((t) => {
      const datatype = text(t?.datatype);
      const field = CONTENTS_FIELD[datatype];
      if (field === undefined)
        throw invalid(
          `input ${JSON.stringify(t?.name)}: datatype ${datatype} cannot travel as JSON data to a gRPC backend`,
          objective,
        );
      const data = flat(t.data);
      return {
        name: text(t.name),
        datatype,
        shape: Array.isArray(t.shape) ? t.shape : [],
        parameters: parametersFromJson(t.parameters),
        contents: { [field]: field === 'bytes_contents' ? data.map((v) => Buffer.from(String(v))) : data },
      };
    }),
    outputs: Array.isArray(json.outputs) ? (json.outputs as Json[]).map((o) => ({ name: text(o?.name) })) : [],
  };
}

export interface InferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; datatype: string; shape: string[]; contents: TensorContents | null }>;
  raw_output_contents: Buffer[];
}

/** A decoded ModelInferResponse as the OIP JSON answer (raw or typed contents → data). */
export function inferResponseToJson(msg: InferResponseMessage, objective: string): Json {
  const raw = msg.raw_output_contents;
  const json: Json = {
    model_name: msg.model_name,
    model_version: msg.model_version,
    outputs: msg.outputs.map((t, i) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape.map(Number),
      data:
        raw.length > i
          ? rawData(t.name, t.datatype, raw[i]!, objective)
          : typedData(t.name, t.datatype, t.contents, objective),
    })),
  };
  if (msg.id !== '') json.id = msg.id;
  return json;
}
