// `openai`: the OpenAI-compatible REST API (vLLM, Ollama, llama.cpp, TGI, any
// compatible server; keyed by wire schema, never by vendor). Besides the path,
// the body's `model` field is rewritten to the backend's served name — the one
// body rewrite Junction does. Responses, SSE included, stream back untouched.
import { HTTP_ENDPOINTS, type ProtocolDeclaration } from './declaration.js';

export const openai: ProtocolDeclaration = {
  transport: 'http',
  ...HTTP_ENDPOINTS,
  interfaces: ['openai'],
  operations: {
    // The generic objective endpoint carries a chat completion: the common case.
    invoke: '/v1/chat/completions',
    'chat/completions': '/v1/chat/completions',
    completions: '/v1/completions',
    embeddings: '/v1/embeddings',
    responses: '/v1/responses',
  },
  // Every compatible server lists its models here; vLLM's /health is not universal.
  health: { path: '/v1/models' },
  modelField: 'model',
};
