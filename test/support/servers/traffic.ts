// What a test server received from callers, leaving out Junction's own
// active health checks (they run on their own clock and interleave).
import type { Received, Upstream } from '../upstream.js';

export const HEALTH_CHECK_AGENT = 'junction-health-check';

export function lastTraffic(server: Upstream): Received {
  for (let i = server.received.length - 1; i >= 0; i--) {
    const r = server.received[i]!;
    if (r.headers['user-agent'] !== HEALTH_CHECK_AGENT) return r;
  }
  throw new Error('the server received no traffic');
}
