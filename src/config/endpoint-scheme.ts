// Each endpoint in a scheme its protocol takes (protocols/: `schemes`): a
// grpc:// endpoint under an HTTP protocol, or the reverse, could only fail
// every call, so validation refuses it and says which protocol takes it.
import { PROTOCOLS, PROTOCOL_NAMES, type Protocol } from './protocols/index.js';

/** The message refusing `url` for `protocol`, or undefined when its scheme is one the protocol takes. */
export function endpointSchemeProblem(protocol: Protocol, url: string): string | undefined {
  const declared = PROTOCOLS[protocol];
  const scheme = url.slice(0, Math.max(0, url.indexOf(':'))).toLowerCase();
  if ((declared.schemes as readonly string[]).includes(scheme)) return undefined;
  // Non-HTTP transports show what was written (no query: it may carry a secret); HTTP ones name who takes that scheme.
  if (declared.transport !== 'http')
    return `protocol ${protocol} needs ${declared.endpointForm} endpoints, not ${url.split('?')[0]}`;
  const takers = PROTOCOL_NAMES.filter((p) => (PROTOCOLS[p].schemes as readonly string[]).includes(scheme));
  return `protocol ${protocol} needs ${declared.endpointForm} endpoints${takers.length > 0 ? ` (${scheme}:// is for protocol ${takers.join(', ')})` : ''}`;
}
