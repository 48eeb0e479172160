// Whether a caller other than Junction (the client SDK, nginx on a routing
// header) can call a target's endpoints itself, and if not, why. One answer
// for both, so the SDK and the exported nginx config never disagree about
// which targets only Junction can reach.
import type { BackendConfig } from '../../config/schema.js';
import { PROTOCOLS } from '../../config/protocols/index.js';

/** Why only Junction can call this target, or undefined when its endpoints can be called directly over HTTP. */
export function onlyThroughJunction(backend: BackendConfig): string | undefined {
  if (backend.type !== 'http') return "runs in Junction's process (ONNX)";
  if (PROTOCOLS[backend.protocol].transport !== 'http')
    return `protocol ${backend.protocol} is not plain HTTP (Junction's ${backend.protocol} backend calls it)`;
  // The snapshot never carries credentials (SPEC §10): a target that needs them is called by Junction, which holds them.
  if (backend.headers !== undefined || backend.tls !== undefined)
    return 'it needs upstream credentials or TLS settings only Junction holds';
  // A query may hold a key (`?api_key=…`); the snapshot shows it only as `?(redacted)`.
  if (backend.endpoints.some((url) => url.includes('?')))
    return 'its endpoint URLs carry a query (a key, perhaps) only Junction holds';
  return undefined;
}
