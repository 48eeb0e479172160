// `oip`: the Open Inference Protocol v2 (KServe, Triton, MLServer) over REST.
// Only the path is rewritten to the backend's own model name and version; the
// body is never parsed, so Triton's binary tensor extension (a JSON header of
// `Inference-Header-Content-Length` bytes followed by raw tensors) and the
// generate extension's SSE pass through byte for byte.
import type { WireProtocol } from './types.js';
import { seg, servedModel, servedVersion } from './names.js';
import { grpcOnly, unsupported } from './unsupported.js';
import { carriesGrpc } from '../../grpc/content-type.js';

const SUFFIX: Partial<Record<string, string>> = {
  invoke: '/infer', infer: '/infer', metadata: '', ready: '/ready',
  generate: '/generate', generate_stream: '/generate_stream',
};

function modelPath(model: string, version: string): string {
  // An empty version is the unversioned path: the server picks (OIP allows both).
  return version === '' ? `/v2/models/${seg(model)}` : `/v2/models/${seg(model)}/versions/${seg(version)}`;
}

export const oip: WireProtocol = {
  path(call, backend) {
    const suffix = SUFFIX[call.operation];
    if (suffix === undefined) throw unsupported('oip', call);
    if (call.method === 'POST' && carriesGrpc(call)) throw grpcOnly(call);
    return modelPath(servedModel(backend, call.target), servedVersion(backend, call.target)) + suffix + call.query;
  },
  healthPath: (backend, target) => `${modelPath(servedModel(backend, target), servedVersion(backend, target))}/ready`,
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
};
