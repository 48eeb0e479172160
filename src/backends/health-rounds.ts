// The loop of active health checks, whatever the protocol: every `intervalMs`
// a round asks each replica (never stacking a slow check), and the verdict
// goes to EndpointSet.setReady. A protocol supplies only `probe`: an HTTP GET
// of the readiness path (http/health-check.ts), or ServerReady then
// ModelReady over gRPC (grpc/health.ts).
import type { EndpointSet, Replica } from './http/endpoints.js';

export abstract class HealthRounds<E extends Replica> {
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<E>();
  protected stopped = false;

  constructor(
    private readonly set: EndpointSet<E>,
    private readonly intervalMs: number,
  ) {}

  /** Is this replica ready? Never rejects: a refused, reset or timed-out check is `false`. */
  protected abstract probe(e: E): Promise<boolean>;

  start(): void {
    // A round that fails to apply its verdicts (a throwing health listener) is
    // retried at the next one; it must never become an unhandled rejection.
    const round = () => void this.tick().catch(() => undefined);
    round();
    this.timer = setInterval(round, this.intervalMs);
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

  private async checkOne(e: E): Promise<void> {
    if (this.inflight.has(e) || this.stopped) return; // a slow check is not stacked
    this.inflight.add(e);
    try {
      const ok = await this.probe(e);
      if (!this.stopped) this.set.setReady(e, ok, performance.now());
    } finally {
      this.inflight.delete(e);
    }
  }
}
