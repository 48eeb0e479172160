// GET /metrics (SPEC §2.4): Prometheus text exposition of this Junction's
// registry. With --workers, the primary serves the aggregate instead (a route
// added through DataPlane.routes takes precedence over this one).
import type { Registry } from 'prom-client';
import type { Route } from './route.js';

export function metricsRoutes(registry: Registry): Route[] {
  return [
    {
      methods: ['GET', 'HEAD'],
      pattern: '/metrics',
      face: 'junction',
      handle: async ({ dp, req, res, record }) => {
        // With clients configured, the metrics (client names, objectives, endpoints) need a client's key.
        record.client = dp.authenticate?.(req).client;
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
  ];
}
