// Events that policies, pools and the control plane report, decoupled from how
// they are exported. observe/metrics.ts installs the Prometheus implementation;
// until then (and in unit tests that do not care) events go nowhere.

export type FallbackReason = 'error' | 'timeout' | 'unhealthy' | 'overloaded' | 'static';
export type ShadowResult = 'sent' | 'dropped' | 'error' | 'agree' | 'disagree';
export type RejectionReason = 'rate_limited' | 'overloaded' | 'unauthorized' | 'forbidden' | 'payload_too_large' | 'shed';

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
}

const noop = (): void => undefined;

export const NO_TELEMETRY: Telemetry = {
  fallback: noop, retry: noop, hedge: noop, shadow: noop, rejection: noop,
  rollouts: noop, configRevision: noop, endpointHealthy: noop, endpointOpened: noop, endpointClosed: noop, dropped: noop,
};

let current: Telemetry = NO_TELEMETRY;

/** The process's telemetry sink. Read it at call time (not import time) so installation order does not matter. */
export function telemetry(): Telemetry {
  return current;
}

export function installTelemetry(t: Telemetry): void {
  current = t;
}
