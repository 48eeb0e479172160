// An HTTP caller's OIP binary tensors (the REST binary data extension) for a
// gRPC backend: the tensors after the JSON header become raw_input_contents as
// they are (views into the body, never decoded), and the answer comes back in
// binary for every output the caller asked binary for — the same request
// shapes a Triton HTTP endpoint takes, on a target that only speaks gRPC.
import type { Reply } from '../../call/types.js';
import { flat, rawBytes, rawData, typedData, inferResponseToJson } from '../../grpc/oip-json.js';
import type { InferResponseMessage } from '../../grpc/oip-json.js';
import { isObject } from '../../call/json-body.js';
import { binaryReply, wantsBinaryOutput, type BinaryRequest } from '../protocols/oip-binary.js';
import { jsonReply } from '../json-reply.js';

type Json = Record<string, unknown>;

const text = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

/** gRPC InferParameter values from OIP JSON parameters, without the HTTP-only binary keys. */
function parameters(value: unknown): Record<string, object> {
  const out: Record<string, object> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'binary_data_size' || k === 'binary_data' || k === 'binary_data_output') continue;
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'number') out[k] = Number.isInteger(v) ? { int64_param: v } : { double_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
  }
  return out;
}

/**
 * A split binary request as a ModelInferRequest value. gRPC takes either raw
 * contents for every input or for none, so an input sent as JSON `data`
 * beside binary ones is encoded to raw bytes too.
 */
export function inferRequestFromBinary(split: BinaryRequest, objective: string): object {
  const inputs = split.header.inputs as unknown[];
  const raw: Buffer[] = [];
  const described = inputs.map((t, i) => {
    const input: Json = isObject(t) ? t : {};
    const name = text(input.name);
    const datatype = text(input.datatype);
    raw.push(split.tensors[i] ?? rawBytes(name, datatype, flat(input.data), objective));
    return {
      name,
      datatype,
      shape: Array.isArray(input.shape) ? input.shape : [],
      parameters: parameters(input.parameters),
    };
  });
  const outputs = Array.isArray(split.header.outputs) ? split.header.outputs : [];
  return {
    id: typeof split.header.id === 'string' ? split.header.id : '',
    parameters: parameters(split.header.parameters),
    inputs: described,
    outputs: outputs.map((o) => ({ name: text(isObject(o) ? o.name : undefined), parameters: {} })),
    raw_input_contents: raw,
  };
}

/**
 * The answer for an HTTP caller: binary outputs (raw contents as they came,
 * typed contents encoded) for each output it asked binary for, by its own
 * `parameters.binary_data` or the request's `binary_data_output`; plain OIP
 * JSON when it asked for none.
 */
export function inferAnswer(request: Json | undefined, msg: InferResponseMessage, objective: string): Reply {
  const asked = Array.isArray(request?.outputs) ? (request.outputs as unknown[]) : [];
  const wanted = (name: string) =>
    request !== undefined &&
    wantsBinaryOutput(
      request,
      asked.find((o) => isObject(o) && o.name === name),
    );
  if (!msg.outputs.some((o) => wanted(o.name))) return jsonReply(inferResponseToJson(msg, objective));
  const tensors: Buffer[] = [];
  const outputs = msg.outputs.map((t, i) => {
    const shape = t.shape.map(Number);
    const raw = msg.raw_output_contents.length > i ? msg.raw_output_contents[i]! : undefined;
    if (!wanted(t.name)) {
      const data =
        raw !== undefined
          ? rawData(t.name, t.datatype, raw, objective)
          : typedData(t.name, t.datatype, t.contents, objective);
      return { name: t.name, datatype: t.datatype, shape, data };
    }
    const bytes = raw ?? rawBytes(t.name, t.datatype, typedData(t.name, t.datatype, t.contents, objective), objective);
    tensors.push(bytes);
    return { name: t.name, datatype: t.datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const header: Json = { model_name: msg.model_name, model_version: msg.model_version, outputs };
  if (msg.id !== '') header.id = msg.id;
  return binaryReply(header, tensors);
}
