// `raw`: the request goes to the endpoint URL as it is (method, body, content
// type), with the caller's query string when the endpoint has none. It forwards
// the bytes as they came, so it can carry any payload. A raw endpoint has no
// readiness path of its own: active checks run only when `health.path` is configured.
import { HTTP_ENDPOINTS, type ProtocolDeclaration } from './declaration.js';

export const raw: ProtocolDeclaration = {
  transport: 'http',
  ...HTTP_ENDPOINTS,
  interfaces: ['json', 'bytes', 'oip', 'openai'],
  operations: 'any',
  health: undefined,
};
