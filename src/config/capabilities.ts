// Which objective interfaces a version's backend can serve, used by config
// validation and by anything that explains why a target was refused. A remote
// version serves what its wire protocol declares (protocols/); an in-process
// one what ONNX Runtime can take.
import { PROTOCOLS } from './protocols/index.js';
import type { BackendConfig, InterfaceName, ModelClassName } from './schema.js';

export function interfacesServedBy(backend: BackendConfig, modelClass: ModelClassName): readonly InterfaceName[] {
  if (backend.type === 'http') return PROTOCOLS[backend.protocol].interfaces;
  // In-process ONNX: tensors in JSON or OIP; generators speak OpenAI (docs/models.md).
  if (modelClass === 'generator') return ['openai'];
  return ['json', 'oip'];
}
