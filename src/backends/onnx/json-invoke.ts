// The `json` interface of an in-process model (docs/models.md):
//   request  {"inputs": {"<input>": <nested array | one example | flat example>}, "topK"?: 3}
//   response {"outputs": {"<output>": <nested array>}, "labels"?: [{"label","score"}, …]}
// One example sent without the batch dimension is answered without it too.
import type { Call, Reply } from '../../call/types.js';
import type { OnnxBackendConfig } from '../../config/schema.js';
import { JunctionError } from '../../errors.js';
import type { Feeds } from './batcher.js';
import type { OnnxModel } from './model.js';
import { readJsonBody } from '../../call/json-body.js';
import { jsonReply } from '../json-reply.js';
import { jsonInput } from './tensor-in.js';
import { jsonOutput } from './tensor-out.js';
import { topLabels } from './labels.js';

export async function invokeJson(model: OnnxModel, cfg: OnnxBackendConfig, call: Call): Promise<Reply> {
  const req = await readJsonBody(call);
  const invalid = (message: string) =>
    new JunctionError('invalid_request', message, { objective: call.objective.name });
  const inputs = req.inputs;
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw invalid(`body must be {"inputs": {"<name>": [...]}}; the model takes ${model.describeInputs()}`);
  }
  const feeds: Feeds = {};
  let rows: number | undefined;
  let single: boolean | undefined;
  for (const [field, value] of Object.entries(inputs)) {
    const name = cfg.inputs?.[field] ?? field;
    const spec = model.input(name);
    if (spec === undefined) throw invalid(`unknown input "${field}"; the model takes ${model.describeInputs()}`);
    const t = jsonInput(spec, value);
    if (rows !== undefined && (t.rows !== rows || t.single !== single)) {
      throw invalid(
        `input "${field}" has ${t.rows} example(s) but the other inputs have ${rows}; send the same number of examples for every input`,
      );
    }
    rows = t.rows;
    single = t.single;
    feeds[name] = t.tensor;
  }
  const out = await model.run(feeds, rows ?? 1);

  const outputs: Record<string, unknown> = {};
  for (const spec of model.outputs) {
    const tensor = out[spec.name];
    if (tensor !== undefined) outputs[cfg.outputs?.[spec.name] ?? spec.name] = jsonOutput(tensor, single === true);
  }
  const body: Record<string, unknown> = { outputs };
  if (cfg.labels !== undefined) {
    const labelled = topLabels(model, out, cfg.labels, req.topK);
    if (labelled !== undefined) body.labels = single === true ? labelled[0] : labelled;
  }
  return jsonReply(body);
}
