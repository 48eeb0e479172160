// The one body rewrite Junction does (openai: `model`): the top-level field
// naming the model set to the backend's served name. Responses, SSE included,
// stream back untouched.
import { parseJsonObject } from '../../call/json-body.js';
import type { Call } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { replaceTopLevelString } from './json-field.js';
import { servedModel } from './names.js';

export async function rewriteModelField(
  call: Call,
  backend: HttpBackendConfig,
  field: string,
): Promise<Buffer | undefined> {
  const served = servedModel(backend, call.target);
  const raw = await call.body.readAll();
  // The openai face has parsed it already; the generic endpoint has not.
  const parsed = call.parsedBody ?? parseJsonObject(raw, call.objective.name);
  if (parsed[field] === served) return raw;
  // Splice the one field so every other byte reaches the backend as sent;
  // re-serialize only for bodies the splice cannot handle (escaped or repeated keys, non-string model).
  return replaceTopLevelString(raw, field, served) ?? Buffer.from(JSON.stringify({ ...parsed, [field]: served }));
}
