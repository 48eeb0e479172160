// Shadow copies wait here, off the critical path: a few run at a time, the
// queue is bounded, and a copy that finds it full is dropped and counted —
// shadows may lose data, the live path may not lose time.
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';

export type ShadowJob = () => Promise<void>;

export class ShadowQueue {
  running = 0;
  dropped = 0;
  private readonly jobs: ShadowJob[] = [];

  constructor(
    private readonly maxQueue = 64,
    private readonly concurrency = 8,
    private readonly telemetry: Telemetry = NO_TELEMETRY,
  ) {}

  get queued(): number {
    return this.jobs.length;
  }

  /** False (and counted) when the queue is full. */
  push(job: ShadowJob): boolean {
    if (this.running < this.concurrency) {
      this.run(job);
      return true;
    }
    if (this.jobs.length >= this.maxQueue) {
      this.dropped++;
      this.telemetry.dropped('shadow');
      return false;
    }
    this.jobs.push(job);
    return true;
  }

  private run(job: ShadowJob): void {
    this.running++;
    // setImmediate: never start a shadow on the live request's own tick.
    setImmediate(() => {
      job()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          const next = this.jobs.shift();
          if (next !== undefined) this.run(next);
        });
    });
  }
}
