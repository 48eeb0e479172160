// `tfserving`: TensorFlow Serving's REST API. `predict` (and `infer`) go to
// `/v1/models/{name}[/versions/{v} | /labels/{l}]:predict`; TF Serving's
// versions are integers, so a non-numeric version names a label, and an empty
// one the unversioned path (the server's latest). Readiness is the model status
// endpoint, ready when some version is AVAILABLE.
import { HTTP_ENDPOINTS, seg, type ProtocolDeclaration } from './declaration.js';

export const tfserving: ProtocolDeclaration = {
  transport: 'http',
  ...HTTP_ENDPOINTS,
  interfaces: ['json'],
  operations: { invoke: ':predict', infer: ':predict', metadata: '/metadata', ready: '' },
  modelPath(model, version) {
    const base = `/v1/models/${seg(model)}`;
    if (version === '') return base;
    return /^\d+$/.test(version) ? `${base}/versions/${version}` : `${base}/labels/${seg(version)}`;
  },
  health: { operation: 'ready' },
  healthy(status, body) {
    if (status < 200 || status >= 300) return false;
    try {
      const value = JSON.parse(body.toString('utf8')) as { model_version_status?: Array<{ state?: unknown }> };
      return value.model_version_status?.some((s) => s.state === 'AVAILABLE') ?? false;
    } catch {
      return false;
    }
  },
};
