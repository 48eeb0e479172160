// `openai-chat`: an OpenAI-compatible server without the Responses API —
// chat completions, completions and embeddings only (TGI, llama.cpp, Ollama,
// older vLLM). The same wire as `openai`; a Responses call (what current
// OpenAI SDKs, the AI SDK's default provider and LangChain's
// `useResponsesApi` send) is translated to a chat completion and back,
// streams included (backends/translate/), instead of meeting a 404.
import type { ProtocolDeclaration } from './declaration.js';
import { openai } from './openai.js';

export const openaiChat: ProtocolDeclaration = {
  ...openai,
  operations: {
    invoke: '/v1/chat/completions',
    'chat/completions': '/v1/chat/completions',
    completions: '/v1/completions',
    embeddings: '/v1/embeddings',
  },
};
