// Which objective interfaces a version's backend can serve. One table, used by
// config validation and by anything that explains why a target was refused.
import type { BackendConfig, InterfaceName, ModelClassName } from './schema.js';

const BY_PROTOCOL: Record<string, readonly InterfaceName[]> = {
  // raw forwards the bytes as they came: it can carry any payload.
  raw: ['json', 'bytes', 'oip', 'openai'],
  oip: ['oip'],
  'oip-grpc': ['oip'],
  openai: ['openai'],
  tfserving: ['json'],
};

export function interfacesServedBy(backend: BackendConfig, modelClass: ModelClassName): readonly InterfaceName[] {
  if (backend.type === 'http') return BY_PROTOCOL[backend.protocol] ?? [];
  // In-process ONNX: tensors in JSON or OIP; generators speak OpenAI (docs/models.md).
  if (modelClass === 'generator') return ['openai'];
  return ['json', 'oip'];
}
