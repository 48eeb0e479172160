// Holds the live revision and swaps it atomically. A new revision is fully
// built (backends ready, pipelines composed) before the swap, so requests never
// see a half-applied config; the old one drains and is released.
import type { Config } from '../config/schema.js';
import { OnnxSessions } from '../backends/onnx/sessions.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { ObjectiveLimits } from '../policy/objective-limits.js';
import { BackendCache } from './backend-cache.js';
import { Revision, type RevisionMeta } from './revision.js';

export type RevisionListener = (next: Revision, previous: Revision | undefined) => void;

/** What one Junction's runtime owns besides its revisions: nothing of it is shared with another Junction. */
export interface RuntimeServices {
  /** Where policies and backends report (the Junction's metrics, an embedder's sink). */
  telemetry?: Telemetry;
  /** Open ONNX Runtime sessions: kept across revisions, released with the last backend using one. */
  sessions?: OnnxSessions;
}

export class Runtime {
  private live: Revision | undefined;
  private readonly cache: BackendCache;
  readonly sessions: OnnxSessions;
  /** Bulkheads and retry budgets per objective, kept across revisions. */
  private readonly limits = new ObjectiveLimits();
  private readonly listeners: RevisionListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(services: RuntimeServices = {}) {
    this.sessions = services.sessions ?? new OnnxSessions();
    this.cache = new BackendCache({ telemetry: services.telemetry ?? NO_TELEMETRY, sessions: this.sessions });
  }

  get current(): Revision | undefined {
    return this.live;
  }

  onRevision(listener: RevisionListener): void {
    this.listeners.push(listener);
  }

  /** Builds and swaps in a revision. Applies are serialized; a failed build changes nothing. */
  apply(config: Config, meta: RevisionMeta): Promise<Revision> {
    return this.serially(async () => this.swap(await Revision.build(config, meta, this.cache, this.limits)));
  }

  /**
   * Builds a revision without serving it, so the control plane can refuse a
   * config that cannot be served before storing it. The caller then either
   * activates it or retires it (which releases its backends).
   */
  prepare(config: Config, meta: RevisionMeta): Promise<Revision> {
    return Revision.build(config, meta, this.cache, this.limits);
  }

  /** Swaps in a revision built by prepare(), in order with apply(). */
  activate(next: Revision): Promise<Revision> {
    return this.serially(() => this.swap(next));
  }

  private async swap(next: Revision): Promise<Revision> {
    const previous = this.live;
    next.adoptLimits();
    this.live = next;
    for (const l of this.listeners) l(next, previous);
    if (previous) await previous.retire();
    return next;
  }

  private serially(fn: () => Promise<Revision>): Promise<Revision> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    const last = this.live;
    this.live = undefined;
    if (last) await last.retire();
  }
}
