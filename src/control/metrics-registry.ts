// The registry whose metrics `--workers` aggregates across processes: the one
// Prometheus registry of observe/metrics.ts, named here once.
import type { Registry } from 'prom-client';
import { registry } from '../observe/metrics.js';

export const metricsRegistry: Registry = registry;
