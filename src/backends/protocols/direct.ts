// Whether a caller other than Junction (the client SDK, nginx on a routing
// header) can call a target's endpoints itself, and if not, why. One answer
// for both, so the SDK and the exported nginx config never disagree about
// which targets only Junction can reach.
import type { BackendConfig } from '../../config/schema.js';
import { PROTOCOLS, type Transport } from '../../config/protocols/index.js';

/**
 * Why only Junction can call this target over `transport`, or undefined when a
 * caller can call its endpoints directly with it: plain HTTP (the default: the
 * SDK's invoke, nginx's proxy_pass), or gRPC (nginx's grpc_pass, a gRPC client
 * the SDK handed the target to).
 */
export function onlyThroughJunction(backend: BackendConfig, transport: Transport = 'http'): string | undefined {
  if (backend.type !== 'http') return "runs in Junction's process (ONNX)";
  if (PROTOCOLS[backend.protocol].transport !== transport)
    return transport === 'http'
      ? `protocol ${backend.protocol} is not plain HTTP (Junction's ${backend.protocol} backend calls it)`
      : `protocol ${backend.protocol} is not gRPC`;
  // The snapshot never carries credentials (SPEC §10): a target that needs them is called by Junction, which holds them.
  if (backend.headers !== undefined || backend.tls !== undefined)
    return 'it needs upstream credentials or TLS settings only Junction holds';
  // A query may hold a key (`?api_key=…`); the snapshot shows it only as `?(redacted)`.
  if (backend.endpoints.some((url) => url.includes('?')))
    return 'its endpoint URLs carry a query (a key, perhaps) only Junction holds';
  return undefined;
}
