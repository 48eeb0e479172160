import type { Call } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import type { Target } from '../../routing/types.js';

/**
 * A wire protocol over HTTP, as the HTTP backend (and the nginx export, and the
 * client SDK) uses it: how a call maps onto the backend's URL space, and how
 * the backend says it is ready. Built from the protocol's declaration
 * (config/protocols/) by http-wire.ts; the HTTP client, pools and health
 * checks are shared (../http/).
 */
export interface WireProtocol {
  /**
   * Path (with query) on the endpoint for this call; the endpoint's own base
   * path is prefixed. Throws invalid_request for an operation the protocol
   * does not have. `modelBase`: this backend's `modelBase()`, when the caller
   * made it once (the HTTP backend does, at apply time); else made per call.
   */
  path(call: Call, backend: HttpBackendConfig, modelBase?: string): string;
  /** The part of every path that names the model and version (OIP's `/v2/models/m/versions/v`), '' when none. */
  modelBase(backend: HttpBackendConfig, target: Target): string;
  /**
   * The body to send instead of the caller's, when the protocol must rewrite it
   * (openai: the `model` field). Absent or undefined: the body streams as it came.
   */
  rewriteBody?(call: Call, backend: HttpBackendConfig): Promise<Buffer | undefined> | Buffer | undefined;
  /** Readiness path for active health checks, or undefined when the protocol has none (raw). */
  healthPath(backend: HttpBackendConfig, target: Target): string | undefined;
  /** Whether a readiness answer means ready. Default: any 2xx. */
  healthy?(status: number, body: Buffer): boolean;
}
