// Every data-plane route is admitted by the client's limits (docs/security.md):
// this walks every route the data plane registers, including those added through
// DataPlane.routes (feedback, /metrics), and proves that a client with
// `rateLimit: { rps: 1, burst: 1 }` is refused 429 on its second call — whether
// the data plane admits the route (`caller`) or invoke does (`invoke`). The few
// `open` routes are pinned by name: a new route is admitted unless it says so here.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { dataPlaneRoutes } from '../../src/faces/data-plane.js';
import type { Route } from '../../src/faces/types.js';
import { LocalRateLimiter } from '../../src/tenancy/rate-limits.js';
import { keyDigest } from '../../src/tenancy/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'junction-every-route-'));
const CLIENTS = 80;
const key = (i: number) => `jk_every-route-${i}`;
let j: Junction;

beforeAll(async () => {
  const backend = { type: 'http', protocol: 'raw', endpoints: ['http://127.0.0.1:9'] };
  j = await startJunction({
    listen: false,
    decisionLog: join(dir, 'decisions.jsonl'),
    feedbackLog: join(dir, 'feedback.jsonl'),
    // A clock that never moves: no unit of rate comes back during the test, however slow the machine.
    rateLimiter: new LocalRateLimiter(() => 0),
    log: { error() {}, warn() {}, info() {} },
    config: {
      models: { m: { versions: { '1': { backend } } } },
      objectives: { o: { interface: 'json', default: 'm@1' } },
      // One client per route, so each route starts with a full bucket of one.
      clients: Object.fromEntries(
        Array.from({ length: CLIENTS }, (_, i) => [
          `c${i}`,
          { keySha256: keyDigest(key(i)), rateLimit: { rps: 1, burst: 1 } },
        ]),
      ),
    },
  });
});
afterAll(async () => j?.close());

/** The routes that check nothing: they say only whether the process serves. */
const OPEN = ['/healthz', '/readyz', '/v2', '/v2/health/live', '/v2/health/ready', '/v1/models', '/v1/models/:model'];

function pathOf(route: Route): string {
  return route.pattern
    .replace(':objective', 'o')
    .replace(':model', 'o')
    .replace(':version', '1')
    .replace(/:[a-z]+/g, 'x');
}

function call(route: Route, i: number) {
  const method = route.methods[0]!;
  return j.inject({
    method,
    url: pathOf(route),
    headers: { authorization: `Bearer ${key(i)}`, 'content-type': 'application/json' },
    body:
      method === 'GET' || method === 'HEAD'
        ? undefined
        : route.face.objectiveFrom === 'model-field'
          ? '{"model":"o"}'
          : '{}',
  });
}

describe('every data-plane route', () => {
  it('only the health and model-list routes are open', () => {
    const routes = dataPlaneRoutes(j.dataPlane);
    expect(routes.length).toBeLessThan(CLIENTS);
    const open = routes.filter((r) => r.admission === 'open').map((r) => r.pattern);
    expect(open.sort()).toEqual([...OPEN].sort());
  });

  it('refuses a client limited to 1 request per second on its second call, 429 with Retry-After', async () => {
    const routes = dataPlaneRoutes(j.dataPlane).filter((r) => r.admission !== 'open');
    const seen: string[] = [];
    for (const [i, route] of routes.entries()) {
      const first = await call(route, i);
      expect(first.status, `${route.pattern} first call`).not.toBe(429);
      expect(first.status, `${route.pattern} first call`).not.toBe(401);
      const second = await call(route, i);
      expect(second.status, `${route.methods[0]} ${route.pattern} second call: ${second.body}`).toBe(429);
      expect(second.headers['retry-after'], route.pattern).toBeDefined();
      seen.push(route.pattern);
    }
    for (const p of ['/v1/exposures', '/v1/feedback', '/v1/decide', '/v1/config/snapshot', '/metrics'])
      expect(seen).toContain(p);
  });
});
