// The whole request path after routing, in one place. Read it top-down: the
// outermost policy first, the backend's send last. Each policy is its own
// file and knows nothing of the others.
//
//   deadline  → the budget until the reply starts (timeoutMs capped by x-deadline-ms); 504 on time
//   cache     → objective `cache`: a hit answers here, keyed on the decided target; see below
//   bulkhead  → maxConcurrency + maxQueue per objective; 503 overloaded beyond
//   earn      → each call earns its share of the retry budget (once, before any attempt)
//   shadow    → copies to shadow targets, off the critical path
//   fallback  → decided target, then policy.fallback targets, then static
//   retry     → idempotent only, paid from the retry budget
//   hedge     → idempotent only, a second attempt after hedgeAfterMs, paid from the same budget
//   backend   → the target's pool (per-endpoint ejection lives there); an attempt
//               has started once its first body byte is here (first-byte.ts)
import type { Policy, Send } from '../call/types.js';
import type { Backend } from '../backends/types.js';
import { JunctionError } from '../errors.js';
import type { CompiledObjective, Target } from '../routing/types.js';
import { bulkhead } from './bulkhead.js';
import { responseCache } from './cache.js';
import type { ResponseCache } from './cache-store.js';
import { traceAttempts } from '../observe/tracing.js';
import { deadline } from './deadline.js';
import { awaitFirstByte } from './first-byte.js';
import { fallback } from './fallback.js';
import { hedge } from './hedge.js';
import { retry } from './retry.js';
import type { ObjectiveLimits } from './objective-limits.js';
import type { Telemetry } from '../observe/telemetry.js';
import { earnRetryBudget } from './retry-budget.js';
import { shadow, shadowTargets } from './shadow.js';
import { ShadowQueue } from './shadow-queue.js';

export interface PipelineContext {
  backends: ReadonlyMap<string, Backend>;
  targets: ReadonlyMap<string, Target>;
  /** Bulkheads and retry budgets, shared across revisions; the revision releases what it acquired here. */
  limits: ObjectiveLimits;
  /** The Junction's sink for what the policies report. */
  telemetry: Telemetry;
  /** The Junction's response cache, kept across revisions (objectives with `cache`). */
  responses: ResponseCache;
}

export function composePipeline(o: CompiledObjective, ctx: PipelineContext): Send {
  const p = o.config.policy;
  const { telemetry } = ctx;
  const toBackend: Send = (call) => {
    const backend = ctx.backends.get(call.target.id);
    if (backend === undefined) {
      return Promise.reject(
        new JunctionError('internal', `no backend built for ${call.target.id}`, { objective: o.name }),
      );
    }
    return backend.send(call);
  };
  // Innermost: every attempt any policy makes (retry, hedge, fallback, shadow) is its own span,
  // and has started only once its first body byte is here (a cut before it is a failed attempt).
  const attempt = traceAttempts(awaitFirstByte(toBackend));
  const target = (ref: string) => ctx.targets.get(ref);
  const { bulkhead: slots, budget } = ctx.limits.acquire(o.name, p);
  const shadows = shadowTargets(o.config.shadow, target);
  const fallbackTargets = p.fallback.map(target).filter((t): t is Target => t !== undefined);

  const policies: Array<Policy | false> = [
    deadline,
    // Inside the deadline (a slow shared tier spends the call's own budget), outside everything
    // else: a hit takes no bulkhead slot, earns no retry budget and sends no shadow copy (it is
    // no call to the model), and outside fallback the key is the decided target's and a reply
    // some fallback (or static) gave is never stored under it (cache.ts).
    o.config.cache !== undefined && responseCache(o.config.cache, ctx.responses),
    slots !== undefined && p.maxConcurrency !== undefined && bulkhead(slots, telemetry),
    p.idempotent && (p.retries > 0 || p.hedgeAfterMs !== undefined) && earnRetryBudget(budget),
    shadows.length > 0 &&
      shadow({ shadows, send: attempt, queue: new ShadowQueue(64, 8, telemetry), timeoutMs: p.timeoutMs, telemetry }),
    (fallbackTargets.length > 0 || p.static !== undefined) &&
      fallback({ targets: fallbackTargets, static: p.static, telemetry }),
    p.idempotent && p.retries > 0 && retry({ retries: p.retries, budget, telemetry }),
    p.idempotent && p.hedgeAfterMs !== undefined && hedge({ afterMs: p.hedgeAfterMs, budget, telemetry }),
  ];
  return policies.reduceRight<Send>((send, policy) => (policy ? policy(send) : send), attempt);
}

/** Policies that may send the body more than once, or key on it (the cache), need it buffered. */
export function needsReplayableBody(o: CompiledObjective): boolean {
  const p = o.config.policy;
  return (
    p.retries > 0 ||
    p.hedgeAfterMs !== undefined ||
    p.fallback.length > 0 ||
    o.config.shadow.length > 0 ||
    o.config.cache !== undefined
  );
}
