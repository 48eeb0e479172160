// Waits on endpoint-health events (Telemetry.endpointHealthy) instead of
// sleeping: tests await the event that proves the state changed. Pass `sink`
// to startJunction({ telemetry }).
import { NO_TELEMETRY, type Telemetry } from '../../src/observe/telemetry.js';

export interface HealthEvent {
  backend: string;
  endpoint: string;
  healthy: boolean;
}

export interface HealthEvents {
  sink: Telemetry;
  events: HealthEvent[];
  /** Resolves at the next event (from now on) matching. */
  next(backend: string, healthy: boolean): Promise<HealthEvent>;
}

export function recordHealthEvents(): HealthEvents {
  const events: HealthEvent[] = [];
  const waiters: Array<{ match: (e: HealthEvent) => boolean; resolve: (e: HealthEvent) => void }> = [];
  const sink: Telemetry = {
    ...NO_TELEMETRY,
    endpointHealthy(backend, endpoint, healthy) {
      const e = { backend, endpoint, healthy };
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(e)) waiters.splice(i, 1)[0]!.resolve(e);
      }
    },
  };
  return {
    sink,
    events,
    next: (backend, healthy) =>
      new Promise((resolve) => {
        waiters.push({ match: (e) => e.backend === backend && e.healthy === healthy, resolve });
      }),
  };
}
