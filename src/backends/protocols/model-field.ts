// The one body rewrite Junction does (openai: `model`): the top-level field
// naming the model set to the backend's served name, found and checked by the
// one scanner of such fields (json-field.ts). Responses, SSE included, stream
// back untouched.
import type { Call } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { topLevelFields, withTopLevelString } from './json-field.js';
import { servedModel } from './names.js';

export async function rewriteModelField(call: Call, backend: HttpBackendConfig, field: string): Promise<Buffer> {
  const served = servedModel(backend, call.target);
  // The bytes are what the backend reads, so the bytes are what is checked (a parsed
  // body, if any, would hide a duplicate key): the field written twice, escaped or
  // not, or in another case, is refused here rather than read one way by Junction
  // and another by the backend. Every other byte reaches the backend as sent.
  const raw = await call.body.readAll();
  const [span] = topLevelFields(raw, [field], call.objective.name);
  return withTopLevelString(raw, span, field, served);
}
