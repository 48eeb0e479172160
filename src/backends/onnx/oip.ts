// Open Inference Protocol v2 (KServe/Triton) answered in-process: infer,
// model metadata and model readiness, in the protocol's JSON shapes.
import type { Call, Reply } from '../../call/types.js';
import type { Target } from '../../routing/types.js';
import { JunctionError } from '../../errors.js';
import type { Feeds } from './batcher.js';
import type { OnnxModel } from './model.js';
import { readJsonBody } from '../../call/json-body.js';
import { jsonReply } from './reply.js';
import { oipInput } from './tensor-in.js';
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
  const invalid = (message: string) =>
    new JunctionError('invalid_request', message, { objective: call.objective.name });
  if (call.headers['inference-header-content-length'] !== undefined) {
    throw invalid('the binary tensor extension is not supported by in-process ONNX models; send tensors as JSON data');
  }
  const req = await readJsonBody(call);
  if (!Array.isArray(req.inputs))
    throw invalid(
      `body must have "inputs": [{name, shape, datatype, data}]; the model takes ${model.describeInputs()}`,
    );
  const feeds: Feeds = {};
  let rows: number | undefined;
  for (const item of req.inputs as unknown[]) {
    const { name, shape, datatype, data } = (item ?? {}) as Record<string, unknown>;
    const spec = typeof name === 'string' ? model.input(name) : undefined;
    if (spec === undefined)
      throw invalid(`unknown input ${JSON.stringify(name)}; the model takes ${model.describeInputs()}`);
    const expected = OIP_DATATYPE[spec.type] ?? spec.type;
    const t = oipInput(spec, String(datatype), expected, shape, data);
    if (spec.name in feeds) throw invalid(`input "${spec.name}" appears twice`);
    if (rows !== undefined && t.rows !== rows)
      throw invalid(`input "${spec.name}" has ${t.rows} rows but the other inputs have ${rows}`);
    feeds[spec.name] = t.tensor;
    rows = t.rows;
  }
  const out = await model.run(feeds, rows ?? 1);

  let wanted = model.outputs.map((s) => s.name);
  if (Array.isArray(req.outputs)) {
    wanted = (req.outputs as Array<{ name?: unknown }>).map((o) => String(o?.name));
    const unknown = wanted.find((n) => !(n in out));
    if (unknown !== undefined)
      throw invalid(`unknown output "${unknown}"; the model gives ${model.outputs.map((s) => s.name).join(', ')}`);
  }
  const body: Record<string, unknown> = {
    model_name: target.model,
    model_version: target.version,
    outputs: wanted.map((name) => {
      const t = out[name]!;
      return { name, datatype: OIP_DATATYPE[t.type] ?? t.type, shape: [...t.dims], data: plainData(t) };
    }),
  };
  if (typeof req.id === 'string') body.id = req.id;
  return jsonReply(body);
}
