// A backend's load reporter from its config (SPEC §14 `load`, and the model
// list that adapter balancing reads), for HTTP and gRPC backends alike.
import type { Logger } from '../../call/hooks.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import type { Telemetry } from '../../observe/telemetry.js';
import type { Target } from '../../routing/types.js';
import { ADAPTER_DEFAULTS } from '../balance/index.js';
import type { EndpointSet, Replica } from '../http/endpoints.js';
import type { TlsConnectOptions } from '../tls.js';
import { metricNames } from './presets.js';
import { LoadReporter } from './reporter.js';

/** What a remote backend gets besides its config and telemetry. */
export interface RemoteOptions {
  /** Where load-report and discovery warnings are logged (at most once per interval). */
  logger?: Logger | undefined;
  /** DNS servers for discovery (`host:port`), instead of the system's: tests point it at their own. */
  dnsServers?: readonly string[] | undefined;
}

/** Load reports without a scrape interval of their own (ORCA only, adapters only) refresh the model list this often. */
const DEFAULT_INTERVAL_MS = 5000;

/** A report older than this is not used: three scrape intervals, or `maxAgeMs`. */
export function reportMaxAge(cfg: HttpBackendConfig): number {
  const m = cfg.load?.metrics;
  if (m?.maxAgeMs !== undefined) return m.maxAgeMs;
  if (m !== undefined) return 3 * m.intervalMs;
  return 3 * DEFAULT_INTERVAL_MS; // ORCA reports: per reply; stale once the replica gets none for a while
}

export function loadReporter<E extends Replica>(
  target: Target,
  cfg: HttpBackendConfig,
  set: EndpointSet<E>,
  headers: Readonly<Record<string, string>>,
  tls: TlsConnectOptions | undefined,
  telemetry: Telemetry,
  logger: Logger | undefined,
): LoadReporter | undefined {
  const metrics = cfg.load?.metrics;
  const adapters = cfg.balance === 'adapter' || cfg.adapter !== undefined;
  if (metrics === undefined && !adapters && cfg.load?.orca !== true) return undefined;
  const port = metrics?.port;
  return new LoadReporter({
    backend: target.id,
    replicas: () => set.endpoints,
    base: (e) => {
      const u = new URL(e.url);
      const scheme = u.protocol === 'https:' || u.protocol === 'grpcs:' ? 'https:' : 'http:';
      return `${scheme}//${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${port ?? (u.port || (scheme === 'https:' ? '443' : '80'))}`;
    },
    intervalMs: metrics?.intervalMs ?? DEFAULT_INTERVAL_MS,
    timeoutMs: metrics?.timeoutMs ?? 1000,
    metrics: metrics === undefined ? undefined : { path: metrics.path, names: metricNames(metrics) },
    adaptersPath: adapters ? (cfg.adapter?.path ?? ADAPTER_DEFAULTS.path) : undefined,
    headers,
    tls,
    telemetry,
    logger,
  });
}
