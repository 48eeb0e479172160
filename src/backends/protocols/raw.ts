// `raw`: the request goes to the endpoint URL as it is (method, body, content
// type), with the caller's query string when the endpoint has none. A raw
// endpoint has no readiness path of its own: active checks run only when
// `health.path` is configured.
import type { WireProtocol } from './types.js';

export const raw: WireProtocol = {
  path: (call) => call.query,
  healthPath: () => undefined,
};
