// GET /metrics (SPEC §2.4): Prometheus text exposition of this Junction's
// registry, or, with --workers, every worker's merged (control/cluster-metrics.ts
// hands the source; a route added through DataPlane.routes takes precedence).
import { junctionFace } from './objectives.js';
import type { Route } from './types.js';

/** `text`: the exposition (this registry's, or every worker's merged); sent as `contentType`. */
export function metricsRoutes(text: () => Promise<string>, contentType: string): Route[] {
  return [
    {
      methods: ['GET', 'HEAD'],
      pattern: '/metrics',
      face: junctionFace,
      handle: async ({ dp, req, res, record }) => {
        // With clients configured, the metrics (client names, objectives, endpoints) need a client's key.
        record.client = dp.authenticate?.(req).client;
        const body = await text();
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    },
  ];
}
