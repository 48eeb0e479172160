// A revision made live: routing table, backends and per-objective pipelines,
// built off the hot path. Requests hold the revision they started on.
import type { Send } from '../call/types.js';
import type { Backend } from '../backends/types.js';
import type { Config } from '../config/schema.js';
import { composePipeline, needsReplayableBody } from '../policy/compose.js';
import type { ObjectiveLimits } from '../policy/objective-limits.js';
import type { ResponseCache } from '../policy/cache-store.js';
import { compileRouting } from '../routing/compile.js';
import type { CompiledObjective, RoutingTable, Target } from '../routing/types.js';
import type { BackendCache, RevisionScope } from './backend-cache.js';

export interface LiveObjective {
  readonly compiled: CompiledObjective;
  readonly send: Send;
  /** Read the body into memory first: some policy may send it twice. */
  readonly bufferBody: boolean;
}

export interface RevisionMeta {
  number: number;
  /** The config as its author wrote it. */
  source: unknown;
  baseDir: string;
}

export class Revision {
  inflight = 0;
  private retired = false;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly meta: RevisionMeta,
    readonly config: Config,
    readonly routing: RoutingTable,
    readonly backends: ReadonlyMap<string, Backend>,
    readonly objectives: ReadonlyMap<string, LiveObjective>,
    private readonly cache: BackendCache,
    private readonly limits: ObjectiveLimits,
  ) {}

  get number(): number {
    return this.meta.number;
  }

  static async build(
    config: Config,
    meta: RevisionMeta,
    cache: BackendCache,
    limits: ObjectiveLimits,
    responses: ResponseCache,
  ): Promise<Revision> {
    const routing = compileRouting(config, meta.number);
    const ctx: RevisionScope = { baseDir: meta.baseDir };
    const backends = new Map<string, Backend>();
    const acquired: Target[] = [];
    try {
      for (const target of routing.targets.values()) {
        backends.set(target.id, await cache.acquire(target, ctx));
        acquired.push(target);
      }
    } catch (err) {
      await Promise.all(acquired.map((t) => cache.release(t, ctx)));
      throw err;
    }
    const objectives = new Map<string, LiveObjective>();
    for (const compiled of routing.objectives.values()) {
      objectives.set(compiled.name, {
        compiled,
        send: composePipeline(compiled, {
          backends,
          targets: routing.targets,
          limits,
          telemetry: cache.telemetry,
          responses,
        }),
        bufferBody: needsReplayableBody(compiled),
      });
    }
    return new Revision(meta, config, routing, backends, objectives, cache, limits);
  }

  /** This revision now serves: its bulkhead and retry-budget limits apply to the objectives' shared state. */
  adoptLimits(): void {
    for (const o of this.routing.objectives.values()) this.limits.adopt(o.name, o.config.policy);
  }

  enter(): void {
    this.inflight++;
  }

  leave(): void {
    if (--this.inflight === 0 && this.retired) void this.close();
  }

  /** No new request will start on this revision; release it once the last one ends. */
  retire(): Promise<void> {
    this.retired = true;
    return this.inflight === 0 ? this.close() : Promise.resolve();
  }

  private close(): Promise<void> {
    this.closed ??= (async () => {
      const ctx: RevisionScope = { baseDir: this.meta.baseDir };
      for (const o of this.routing.objectives.values()) this.limits.release(o.name);
      await Promise.all([...this.routing.targets.values()].map((t) => this.cache.release(t, ctx)));
    })();
    return this.closed;
  }
}
