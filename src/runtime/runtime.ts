// Holds the live revision and swaps it atomically. A new revision is fully
// built (backends ready, pipelines composed) before the swap, so requests never
// see a half-applied config; the old one drains and is released.
import type { Logger } from '../call/hooks.js';
import type { Config } from '../config/schema.js';
import { OnnxSessions } from '../backends/onnx/sessions.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { ObjectiveLimits } from '../policy/objective-limits.js';
import { ResponseCache } from '../policy/cache-store.js';
import type { RoutingTable } from '../routing/types.js';
import { BackendCache } from './backend-cache.js';
import { Revision, type RevisionMeta } from './revision.js';

export type RevisionListener = (next: Revision, previous: Revision | undefined) => void;

/** What one Junction's runtime owns besides its revisions: nothing of it is shared with another Junction. */
export interface RuntimeServices {
  /** Where policies and backends report (the Junction's metrics, an embedder's sink). */
  telemetry?: Telemetry;
  /** Open ONNX Runtime sessions: kept across revisions, released with the last backend using one. */
  sessions?: OnnxSessions;
  /** Where backends log what they ignore (load reports, discovery), rate-limited. */
  logger?: Logger;
  /** The response cache (objectives with `cache`); in-process only, 64 MiB, by default. */
  responses?: ResponseCache;
}

export class Runtime {
  private live: Revision | undefined;
  private prior: RoutingTable | undefined;
  private readonly cache: BackendCache;
  readonly sessions: OnnxSessions;
  /** Bulkheads and retry budgets per objective, kept across revisions. */
  private readonly limits = new ObjectiveLimits();
  /** Answers of objectives with `cache`, kept across revisions (keys name their target, so none crosses one). */
  readonly responses: ResponseCache;
  private readonly listeners: RevisionListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** Long-polls waiting for a revision newer than the one they have (GET /v1/config/snapshot?wait=). */
  private readonly waiters = new Set<(next: Revision | undefined) => void>();

  constructor(services: RuntimeServices = {}) {
    this.sessions = services.sessions ?? new OnnxSessions();
    this.responses = services.responses ?? new ResponseCache({ telemetry: services.telemetry });
    this.cache = new BackendCache({
      telemetry: services.telemetry ?? NO_TELEMETRY,
      sessions: this.sessions,
      logger: services.logger,
    });
  }

  get current(): Revision | undefined {
    return this.live;
  }

  /** The routing of the revision served before this one: exposures decided on it are still accepted. */
  get previousRouting(): RoutingTable | undefined {
    return this.prior;
  }

  onRevision(listener: RevisionListener): void {
    this.listeners.push(listener);
  }

  /**
   * The live revision once it is numbered above `after`: at once if it already
   * is, else at the next swap, or undefined when `ms` pass first or `signal`
   * aborts (the caller hung up). Bounded: one closure per waiting caller.
   */
  nextRevision(after: number, ms: number, signal?: AbortSignal): Promise<Revision | undefined> {
    const live = this.live;
    if (live !== undefined && live.number > after) return Promise.resolve(live);
    if (ms <= 0 || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (rev: Revision | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(onSwap);
        resolve(rev);
      };
      const onSwap = (next: Revision | undefined) => {
        if (next === undefined || next.number > after) done(next);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(onSwap);
    });
  }

  /** Builds and swaps in a revision. Applies are serialized; a failed build changes nothing. */
  apply(config: Config, meta: RevisionMeta): Promise<Revision> {
    return this.serially(async () =>
      this.swap(await Revision.build(config, meta, this.cache, this.limits, this.responses)),
    );
  }

  /**
   * Builds a revision without serving it, so the control plane can refuse a
   * config that cannot be served before storing it. The caller then either
   * activates it or retires it (which releases its backends).
   */
  prepare(config: Config, meta: RevisionMeta): Promise<Revision> {
    return Revision.build(config, meta, this.cache, this.limits, this.responses);
  }

  /** Swaps in a revision built by prepare(), in order with apply(). */
  activate(next: Revision): Promise<Revision> {
    return this.serially(() => this.swap(next));
  }

  private async swap(next: Revision): Promise<Revision> {
    const previous = this.live;
    next.adoptLimits();
    this.prior = previous?.routing;
    this.live = next;
    for (const l of this.listeners) l(next, previous);
    for (const wake of [...this.waiters]) wake(next);
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
    for (const wake of [...this.waiters]) wake(undefined); // closing: long-polls end now, not at their timeout
    if (last) await last.retire();
    await this.responses.close();
  }
}
