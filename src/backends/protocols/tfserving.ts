// `tfserving`: TensorFlow Serving's REST API. `predict` (and `infer`) go to
// `/v1/models/{name}[/versions/{v} | /labels/{l}]:predict`; TF Serving's
// versions are integers, so a non-numeric version names a label, and an empty
// one the unversioned path (the server's latest). Readiness is the model status
// endpoint, ready when some version is AVAILABLE.
import type { WireProtocol } from './types.js';
import { seg, servedModel, servedVersion } from './names.js';
import { unsupported } from './unsupported.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import type { Target } from '../../routing/types.js';

function modelPath(backend: HttpBackendConfig, target: Target): string {
  const base = `/v1/models/${seg(servedModel(backend, target))}`;
  const v = servedVersion(backend, target);
  if (v === '') return base;
  return /^\d+$/.test(v) ? `${base}/versions/${v}` : `${base}/labels/${seg(v)}`;
}

export const tfserving: WireProtocol = {
  path(call, backend) {
    switch (call.operation) {
      case 'invoke':
      case 'infer':
        return `${modelPath(backend, call.target)}:predict${call.query}`;
      case 'metadata':
        return `${modelPath(backend, call.target)}/metadata${call.query}`;
      case 'ready':
        return modelPath(backend, call.target) + call.query;
      default:
        throw unsupported('tfserving', call);
    }
  },
  healthPath: (backend, target) => modelPath(backend, target),
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
