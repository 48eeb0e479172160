// Open Inference Protocol v2 (KServe/Triton) answered in-process: infer,
// model metadata and model readiness, in the protocol's JSON shapes; infer
// also takes and gives tensors in the REST binary data extension
// (../protocols/oip-binary.ts).
import type { Call, Reply } from '../../call/types.js';
import type { Target } from '../../routing/types.js';
import { JunctionError } from '../../errors.js';
import type { Feeds } from './batcher.js';
import type { OnnxModel } from './model.js';
import { readJsonBody } from '../../call/json-body.js';
import { jsonReply } from '../json-reply.js';
import { oipInput } from './tensor-in.js';
import { binaryInput, tensorBytes } from './tensor-binary.js';
import { binaryHeaderLength, binaryReply, splitBinaryRequest, wantsBinaryOutput } from '../protocols/oip-binary.js';
import { OIP_DATATYPE, type TensorSpec } from './tensor-spec.js';
import { plainData } from './tensor-out.js';

const describe = (s: TensorSpec) => ({
  name: s.name,
  datatype: OIP_DATATYPE[s.type] ?? s.type.toUpperCase(),
  shape: s.shape.map((d) => d ?? -1),
});

export function oipMetadata(model: OnnxModel, target: Target): Reply {
  return jsonReply({
    name: target.model,
    versions: [target.version],
    platform: 'onnxruntime',
    inputs: model.inputs.map(describe),
    outputs: model.outputs.map(describe),
  });
}

export function oipReady(target: Target): Reply {
  return jsonReply({ name: target.model, ready: true });
}

export async function oipInfer(model: OnnxModel, target: Target, call: Call): Promise<Reply> {
  const objective = call.objective.name;
  const invalid = (message: string) => new JunctionError('invalid_request', message, { objective });
  const { req, tensors } = await inferRequest(call);
  if (!Array.isArray(req.inputs))
    throw invalid(
      `body must have "inputs": [{name, shape, datatype, data}]; the model takes ${model.describeInputs()}`,
    );
  const feeds: Feeds = {};
  let rows: number | undefined;
  (req.inputs as unknown[]).forEach((item, i) => {
    const { name, shape, datatype, data } = (item ?? {}) as Record<string, unknown>;
    const spec = typeof name === 'string' ? model.input(name) : undefined;
    if (spec === undefined)
      throw invalid(`unknown input ${JSON.stringify(name)}; the model takes ${model.describeInputs()}`);
    const expected = OIP_DATATYPE[spec.type] ?? spec.type;
    const bytes = tensors[i];
    if (bytes !== undefined && data !== undefined)
      throw invalid(`input "${spec.name}" has both "data" and binary_data_size: send one`);
    const t =
      bytes === undefined
        ? oipInput(spec, String(datatype), expected, shape, data)
        : binaryInput(spec, String(datatype), expected, shape, bytes);
    if (spec.name in feeds) throw invalid(`input "${spec.name}" appears twice`);
    if (rows !== undefined && t.rows !== rows)
      throw invalid(`input "${spec.name}" has ${t.rows} rows but the other inputs have ${rows}`);
    feeds[spec.name] = t.tensor;
    rows = t.rows;
  });
  const out = await model.run(feeds, rows ?? 1);

  const requested: unknown[] = Array.isArray(req.outputs)
    ? (req.outputs as unknown[])
    : model.outputs.map((s) => ({ name: s.name }));
  const binaries: Buffer[] = [];
  const outputs = requested.map((o) => {
    const name = String((o as { name?: unknown } | null)?.name);
    const t = out[name];
    if (t === undefined)
      throw invalid(`unknown output "${name}"; the model gives ${model.outputs.map((s) => s.name).join(', ')}`);
    const described = { name, datatype: OIP_DATATYPE[t.type] ?? t.type, shape: [...t.dims] };
    if (!wantsBinaryOutput(req, o)) return { ...described, data: plainData(t) };
    const bytes = tensorBytes(t);
    binaries.push(bytes);
    return { ...described, parameters: { binary_data_size: bytes.length } };
  });
  const body: Record<string, unknown> = { model_name: target.model, model_version: target.version, outputs };
  if (typeof req.id === 'string') body.id = req.id;
  // Binary only when an output was asked for in binary (as Triton and KServe answer): else the JSON of today.
  return binaries.length === 0 ? jsonReply(body) : binaryReply(body, binaries);
}

/** The request as JSON, and each input's bytes when it came with the binary data extension. */
async function inferRequest(
  call: Call,
): Promise<{ req: Record<string, unknown>; tensors: ReadonlyArray<Buffer | undefined> }> {
  // A gRPC caller's message arrives decoded; its metadata never makes it a binary body.
  const headerLength =
    call.parsedBody === undefined ? binaryHeaderLength(call.headers, call.objective.name) : undefined;
  if (headerLength === undefined) return { req: await readJsonBody(call), tensors: [] };
  const { header, tensors } = splitBinaryRequest(await call.body.readAll(), headerLength, call.objective.name);
  return { req: header, tensors };
}
