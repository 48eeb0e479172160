// `raw`: the request goes to the endpoint URL as it is (method, body, content
// type), with the caller's query string when the endpoint has none.
import type { WireProtocol } from './types.js';

export const raw: WireProtocol = {
  path: (call) => call.query,
  healthPath: () => '',
};
