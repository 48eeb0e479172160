// Records telemetry events so tests can assert on what policies reported:
// pass `sink` to startJunction({ telemetry }).
import { NO_TELEMETRY, type Telemetry } from '../../src/observe/telemetry.js';

export interface Recorded {
  sink: Telemetry;
  events: Array<[string, ...unknown[]]>;
  count(kind: string, ...match: unknown[]): number;
  clear(): void;
}

export function recordTelemetry(): Recorded {
  const events: Array<[string, ...unknown[]]> = [];
  const t = {} as Record<string, (...args: unknown[]) => void>;
  for (const kind of Object.keys(NO_TELEMETRY))
    t[kind] = (...args: unknown[]) => {
      events.push([kind, ...args]);
    };
  return {
    sink: t as unknown as Telemetry,
    events,
    count: (kind, ...match) =>
      events.filter(([k, ...args]) => k === kind && match.every((m, i) => m === undefined || args[i] === m)).length,
    clear: () => {
      events.length = 0;
    },
  };
}
