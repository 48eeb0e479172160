// The backend's own names for a target: `backend.model` / `backend.version`,
// defaulting to Junction's model name and version key.
import type { HttpBackendConfig } from '../../config/schema.js';
import type { Target } from '../../routing/types.js';

export function servedModel(backend: HttpBackendConfig, target: Target): string {
  return backend.model ?? target.model;
}

/** '' means "no version": the protocol's unversioned path (the server picks). */
export function servedVersion(backend: HttpBackendConfig, target: Target): string {
  return backend.version ?? target.version;
}
