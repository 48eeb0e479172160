// `oip`: the Open Inference Protocol v2 (KServe, Triton, MLServer) over REST.
// Only the path is rewritten to the backend's own model name and version; the
// body is never parsed, so the binary tensor data extension (a JSON header of
// `Inference-Header-Content-Length` bytes followed by raw tensors; that header
// and the content type go upstream with it, and the answer's come back) and the
// generate extension's SSE pass through byte for byte. The OIP face checks only
// the header's value (backends/protocols/oip-binary.ts), never the body.
import { HTTP_ENDPOINTS, seg, type ProtocolDeclaration } from './declaration.js';

export const oip: ProtocolDeclaration = {
  transport: 'http',
  ...HTTP_ENDPOINTS,
  interfaces: ['oip'],
  operations: {
    invoke: '/infer',
    infer: '/infer',
    metadata: '',
    ready: '/ready',
    generate: '/generate',
    generate_stream: '/generate_stream',
  },
  // An empty version is the unversioned path: the server picks (OIP allows both).
  modelPath: (model, version) =>
    version === '' ? `/v2/models/${seg(model)}` : `/v2/models/${seg(model)}/versions/${seg(version)}`,
  health: { operation: 'ready' },
  // Triton answers readiness with an empty 200; KServe and MLServer with {"ready": true}.
  healthy(status, body) {
    if (status < 200 || status >= 300) return false;
    const text = body.toString('utf8').trim();
    if (text === '') return true;
    try {
      const value = JSON.parse(text) as { ready?: unknown };
      return value?.ready !== false;
    } catch {
      return true;
    }
  },
  refusesGrpcMessages: true,
};
