// `openai`: the OpenAI-compatible REST API (vLLM, Ollama, llama.cpp, TGI, any
// compatible server; keyed by wire schema, never by vendor). Besides the path,
// the body's `model` field is rewritten to the backend's served name — the one
// body rewrite Junction does. Responses, SSE included, stream back untouched.
import { parseJsonObject } from '../../call/json-body.js';
import type { Call } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { replaceTopLevelString } from './json-field.js';
import { servedModel } from './names.js';
import type { WireProtocol } from './types.js';
import { unsupported } from './unsupported.js';

const PATHS: Partial<Record<string, string>> = {
  // The generic objective endpoint carries a chat completion: the common case.
  invoke: '/v1/chat/completions',
  'chat/completions': '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
};

async function rewriteModel(call: Call, backend: HttpBackendConfig): Promise<Buffer | undefined> {
  const served = servedModel(backend, call.target);
  const raw = await call.body.readAll();
  // The openai face has parsed it already; the generic endpoint has not.
  const parsed = call.parsedBody ?? parseJsonObject(raw, call.objective.name);
  if (parsed.model === served) return raw;
  // Splice the one field so every other byte reaches the backend as sent;
  // re-serialize only for bodies the splice cannot handle (escaped or repeated keys, non-string model).
  return replaceTopLevelString(raw, 'model', served) ?? Buffer.from(JSON.stringify({ ...parsed, model: served }));
}

export const openai: WireProtocol = {
  path(call) {
    const path = PATHS[call.operation];
    if (path === undefined) throw unsupported('openai', call);
    return path + call.query;
  },
  rewriteBody: (call, backend) => (call.method === 'GET' || call.method === 'HEAD' ? undefined : rewriteModel(call, backend)),
  // Every compatible server lists its models here; vLLM's /health is not universal.
  healthPath: () => '/v1/models',
};
