// The ORCA load report a replica sends on its replies (the
// `endpoint-load-metrics` header, as Envoy and gRPC read it; xDS
// `OrcaLoadReport`): `TEXT cpu_utilization=0.3, named_metrics.queue=2` or
// `JSON {"cpu_utilization":0.3,"named_metrics":{"queue":2}}`. The BIN
// (protobuf) form and anything else are ignored. Junction reads queue,
// running and KV-cache use from named metrics (`queue` or
// `num_requests_waiting`, `running` or `num_requests_running`, `kv_cache` or
// `kv_cache_usage_perc`); `rps_fractional` and the utilizations are not load
// in that sense. Bounded: a header past 4 KiB or with more than 64 entries is
// refused whole.
import { MAX_REQUESTS } from './prom-text.js';

export const MAX_ORCA_HEADER = 4096;
const MAX_ENTRIES = 64;

export interface OrcaLoad {
  queue: number | undefined;
  running: number | undefined;
  kvCache: number | undefined;
}

/** undefined when the header is malformed, too large, another form (BIN) or names nothing Junction reads. */
export function parseOrca(header: string): OrcaLoad | undefined {
  if (header.length > MAX_ORCA_HEADER) return undefined;
  const out: OrcaLoad = { queue: undefined, running: undefined, kvCache: undefined };
  if (header.startsWith('TEXT ')) {
    const entries = header.slice(5).split(',');
    if (entries.length > MAX_ENTRIES) return undefined;
    for (const entry of entries) {
      const eq = entry.indexOf('=');
      if (eq < 0) return undefined;
      const key = entry.slice(0, eq).trim();
      const raw = entry.slice(eq + 1).trim();
      if (raw === '') return undefined;
      const value = Number(raw);
      if (!Number.isFinite(value)) return undefined;
      if (key.startsWith('named_metrics.') && !take(out, key.slice(14), value)) return undefined;
    }
  } else if (header.startsWith('JSON ')) {
    let doc: unknown;
    try {
      doc = JSON.parse(header.slice(5));
    } catch {
      return undefined;
    }
    if (typeof doc !== 'object' || doc === null) return undefined;
    const named = (doc as { named_metrics?: unknown }).named_metrics;
    if (named !== undefined) {
      if (typeof named !== 'object' || named === null) return undefined;
      const keys = Object.keys(named);
      if (keys.length > MAX_ENTRIES) return undefined;
      for (const key of keys) {
        const value = (named as Record<string, unknown>)[key];
        if (typeof value !== 'number' || !take(out, key, value)) return undefined;
      }
    }
  } else {
    return undefined;
  }
  if (out.queue === undefined && out.running === undefined && out.kvCache === undefined) return undefined;
  return out;
}

/** Sets the kind `key` names; false for a value that cannot be load. Unknown names are skipped. */
function take(out: OrcaLoad, key: string, value: number): boolean {
  switch (key) {
    case 'queue':
    case 'num_requests_waiting':
      if (value < 0 || value > MAX_REQUESTS) return false;
      out.queue = value;
      return true;
    case 'running':
    case 'num_requests_running':
      if (value < 0 || value > MAX_REQUESTS) return false;
      out.running = value;
      return true;
    case 'kv_cache':
    case 'kv_cache_usage_perc':
      if (value < 0 || value > 1) return false;
      out.kvCache = value;
      return true;
    default:
      return true;
  }
}
