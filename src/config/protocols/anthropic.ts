// `anthropic`: Anthropic's Messages API (POST /v1/messages), spoken by
// Anthropic and by servers and gateways that offer it. A Messages call passes
// through (the body's `model` rewritten, as for `openai`); a chat completion
// from the OpenAI face is translated to a Messages call and back, streams
// included (backends/translate/). The key goes in the backend's `headers`
// (`x-api-key: ${env:ANTHROPIC_API_KEY}`); `anthropic-version` is sent unless
// those headers set another.
import { HTTP_ENDPOINTS, type ProtocolDeclaration } from './declaration.js';

export const anthropic: ProtocolDeclaration = {
  transport: 'http',
  ...HTTP_ENDPOINTS,
  interfaces: ['openai'],
  operations: {
    // The generic objective endpoint carries a Messages request as it is.
    invoke: '/v1/messages',
    messages: '/v1/messages',
  },
  health: { path: '/v1/models' },
  modelField: 'model',
  headers: { 'anthropic-version': '2023-06-01' },
};
