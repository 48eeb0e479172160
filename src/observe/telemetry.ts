// Events that policies, pools and the control plane report, decoupled from how
// they are exported. Each Junction makes its own sink (observe/wire.ts: its
// Prometheus metrics, plus any sink the embedder passes) and hands it down
// through the runtime's contexts; code without one reports to NO_TELEMETRY.

export type FallbackReason = 'error' | 'timeout' | 'unhealthy' | 'overloaded' | 'static';
export type ShadowResult = 'sent' | 'dropped' | 'error' | 'agree' | 'disagree';
export type RejectionReason =
  | 'rate_limited'
  | 'token_limit_exceeded'
  | 'budget_exceeded'
  | 'overloaded'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | 'shed';

export interface Telemetry {
  fallback(objective: string, from: string, to: string, reason: FallbackReason): void;
  retry(objective: string, target: string): void;
  hedge(objective: string, target: string): void;
  shadow(objective: string, target: string, result: ShadowResult, agreement?: number): void;
  rejection(objective: string, client: string, reason: RejectionReason): void;
  /** Every rollout of the revision now served: the series of rollouts it no longer has go away. */
  rollouts(current: ReadonlyArray<{ objective: string; candidate: string; percent: number }>): void;
  configRevision(revision: number): void;
  endpointHealthy(backend: string, endpoint: string, healthy: boolean): void;
  /**
   * A backend opened or closed its pool to an endpoint. The endpoint's health
   * series goes away when the last backend using it closes (a backend rebuilt
   * on a config change overlaps the old one while that drains).
   */
  endpointOpened(backend: string, endpoint: string): void;
  endpointClosed(backend: string, endpoint: string): void;
  /** Counted drops of a bounded sink (decision log, shadow queue, …). */
  dropped(sink: string, count?: number): void;
  /** A backend picked a replica for a call, for this reason (`p2c`, `least-load`, `prefix-hit`, …; a small fixed set). */
  picked(target: string, reason: string): void;
  /**
   * A replica's reported load (`queue`, `running`, `kv_cache`), or undefined
   * when the series should go (the replica left, its report aged out).
   * Backends label a bounded number of replicas each.
   */
  endpointLoad(backend: string, endpoint: string, kind: EndpointLoadKind, value: number | undefined): void;
  /** Bytes the in-process response cache holds now (policy/cache-store.ts). */
  cacheBytes(bytes: number): void;
}

export type EndpointLoadKind = 'queue' | 'running' | 'kv_cache';

const noop = (): void => undefined;

export const NO_TELEMETRY: Telemetry = Object.freeze({
  fallback: noop,
  retry: noop,
  hedge: noop,
  shadow: noop,
  rejection: noop,
  rollouts: noop,
  configRevision: noop,
  endpointHealthy: noop,
  endpointOpened: noop,
  endpointClosed: noop,
  dropped: noop,
  picked: noop,
  endpointLoad: noop,
  cacheBytes: noop,
});

/** One sink that reports every event to each of `sinks` (undefined ones skipped). */
export function fanOut(...sinks: Array<Telemetry | undefined>): Telemetry {
  const live = sinks.filter((t): t is Telemetry => t !== undefined && t !== NO_TELEMETRY);
  if (live.length === 0) return NO_TELEMETRY;
  if (live.length === 1) return live[0]!;
  const out: Record<string, (...args: unknown[]) => void> = {};
  for (const kind of Object.keys(NO_TELEMETRY) as Array<keyof Telemetry>) {
    out[kind] = (...args: unknown[]) => {
      for (const t of live) (t[kind] as (...a: unknown[]) => void)(...args);
    };
  }
  return out as unknown as Telemetry;
}
