// Records telemetry events so tests can assert on what policies reported.
import { installTelemetry, NO_TELEMETRY, type Telemetry } from '../../src/observe/telemetry.js';

export interface Recorded {
  events: Array<[string, ...unknown[]]>;
  count(kind: string, ...match: unknown[]): number;
  clear(): void;
}

export function recordTelemetry(): Recorded {
  const events: Array<[string, ...unknown[]]> = [];
  const t = {} as Record<string, (...args: unknown[]) => void>;
  for (const kind of Object.keys(NO_TELEMETRY)) t[kind] = (...args: unknown[]) => { events.push([kind, ...args]); };
  installTelemetry(t as unknown as Telemetry);
  return {
    events,
    count: (kind, ...match) => events.filter(([k, ...args]) => k === kind && match.every((m, i) => m === undefined || args[i] === m)).length,
    clear: () => { events.length = 0; },
  };
}
