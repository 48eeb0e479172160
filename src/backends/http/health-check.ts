// Active health checks: every `intervalMs`, a GET of the readiness path on each
// endpoint (through its own keep-alive pool), judged by the protocol. The
// verdict goes to EndpointSet.setReady; nothing else reads the answers. Started
// when the backend is created, stopped on close().
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

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Endpoint>();
  private stopped = false;

  constructor(private readonly set: EndpointSet, private readonly opts: HealthCheckOptions) {}

  start(): void {
    // A round that fails to apply its verdicts (a throwing health listener) is
    // retried at the next one; it must never become an unhandled rejection.
    const round = () => void this.tick().catch(() => undefined);
    round();
    this.timer = setInterval(round, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One round over every endpoint; resolves when each has a verdict. */
  tick(): Promise<void> {
    return Promise.all(this.set.endpoints.map((e) => this.checkOne(e))).then(() => undefined);
  }

  private async checkOne(e: Endpoint): Promise<void> {
    if (this.inflight.has(e) || this.stopped) return; // a slow check is not stacked
    this.inflight.add(e);
    try {
      const ok = await this.probe(e);
      if (!this.stopped) this.set.setReady(e, ok, performance.now());
    } finally {
      this.inflight.delete(e);
    }
  }

  private async probe(e: Endpoint): Promise<boolean> {
    const { timeoutMs } = this.opts;
    try {
      const res = await e.pool.request({
        path: this.opts.path(e), method: 'GET',
        headers: { 'user-agent': 'junction-health-check', ...this.opts.headers },
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs),
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
