// The registry whose metrics `--workers` aggregates across processes. The one
// place that names it: when observe/metrics.ts exports its `registry`, point
// this import there (until then prom-client's global registry is used).
import promClient from 'prom-client';

export const metricsRegistry: promClient.Registry = promClient.register;
