// Active health checks of HTTP replicas: a GET of the readiness path on each
// endpoint (through its own keep-alive pool), judged by the protocol; the loop
// is health-rounds.ts's. Started when the backend is created, stopped on close().
import { HealthRounds } from '../health-rounds.js';
import type { Endpoint, EndpointSet } from './endpoints.js';

export interface HealthCheckOptions {
  /** Absolute path on each endpoint's origin. */
  path: (e: Endpoint) => string;
  intervalMs: number;
  timeoutMs: number;
  healthy: (status: number, body: Buffer) => boolean;
  /** Sent with every check: a hosted API answers its readiness path only with its key. */
  headers?: Readonly<Record<string, string>>;
}

/** Readiness answers are tiny; a larger one is read no further. */
const MAX_HEALTH_BODY = 64 * 1024;

export class HealthChecker extends HealthRounds<Endpoint> {
  constructor(
    set: EndpointSet,
    private readonly opts: HealthCheckOptions,
  ) {
    super(set, opts.intervalMs);
  }

  protected async probe(e: Endpoint): Promise<boolean> {
    const { timeoutMs } = this.opts;
    try {
      const res = await e.pool.request({
        path: this.opts.path(e),
        method: 'GET',
        headers: { 'user-agent': 'junction-health-check', ...this.opts.headers },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= MAX_HEALTH_BODY) {
          res.body.destroy();
          break;
        }
      }
      return this.opts.healthy(res.statusCode, Buffer.concat(chunks));
    } catch {
      return false; // refused, reset, timed out: not ready
    }
  }
}
