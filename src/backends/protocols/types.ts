import type { Call } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';

/**
 * A remote wire protocol: how a call maps onto the backend's URL space. Each
 * protocol is one small file with this shape; the HTTP client is shared.
 */
export interface WireProtocol {
  /** Path (with query) on the endpoint for this call; the endpoint's own base path is prefixed. */
  path(call: Call, backend: HttpBackendConfig): string;
  /** Readiness path used by active health checks. */
  readonly healthPath: (backend: HttpBackendConfig, model: string, version: string) => string;
}
