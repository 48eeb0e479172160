// Waits on endpoint-health events (telemetry().endpointHealthy) instead of
// sleeping: tests await the event that proves the state changed.
import { installTelemetry, NO_TELEMETRY } from '../../src/observe/telemetry.js';

export interface HealthEvent { backend: string; endpoint: string; healthy: boolean }

export interface HealthEvents {
  events: HealthEvent[];
  /** Resolves at the next event (from now on) matching. */
  next(backend: string, healthy: boolean): Promise<HealthEvent>;
}

export function recordHealthEvents(): HealthEvents {
  const events: HealthEvent[] = [];
  const waiters: Array<{ match: (e: HealthEvent) => boolean; resolve: (e: HealthEvent) => void }> = [];
  installTelemetry({
    ...NO_TELEMETRY,
    endpointHealthy(backend, endpoint, healthy) {
      const e = { backend, endpoint, healthy };
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(e)) waiters.splice(i, 1)[0]!.resolve(e);
      }
    },
  });
  return {
    events,
    next: (backend, healthy) => new Promise((resolve) => {
      waiters.push({ match: (e) => e.backend === backend && e.healthy === healthy, resolve });
    }),
  };
}
