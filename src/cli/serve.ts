// `junction serve`: the data plane (and, with the control plane, the admin API).
import cluster from 'node:cluster';
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startJunction } from '../app.js';
import { loadConfigFile } from '../config/load.js';
import { Registry } from 'prom-client';
import { clusterMetricsRoute } from '../control/cluster-metrics.js';
import { DEFAULT_DATA_DIR, StoreOpenError } from '../control/open-store.js';
import { DEFAULT_ADMIN_PORT } from '../control/start-control.js';
import { runPrimary } from '../control/workers.js';
import type { Route } from '../faces/route.js';
import { createLogger } from '../observe/logger.js';
import { UserError } from './user-error.js';

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${flag} must be a port number 0-65535 (got "${value}")`);
  return n;
}

function workerCount(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UserError(`--workers must be a whole number 1-256 (got "${value}")`);
  return n;
}

export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      watch: { type: 'boolean' },
      data: { type: 'string' },
      store: { type: 'string' },
      redis: { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      'decision-log': { type: 'string' },
      'access-log': { type: 'boolean' },
      'insecure-admin': { type: 'boolean' },
    },
  });
  if (values.store !== undefined && values.data !== undefined) {
    throw new UserError('give either --data DIR (embedded SQLite) or --store postgres://… (shared), not both');
  }
  if (values.watch && values.config === undefined) throw new UserError('--watch needs a file to watch: --config FILE --watch');
  const decisionLog = values['decision-log'] ?? process.env.JUNCTION_DECISION_LOG;
  if (decisionLog !== undefined && decisionLog !== '-') {
    try {
      closeSync(openSync(decisionLog, 'a'));
    } catch (err) {
      throw new UserError(`--decision-log: cannot write ${decisionLog} (${(err as Error).message}); give a writable file or - for stdout`);
    }
  }
  const dataPort = port(values.port, 8080, '--port');
  const adminPort = port(values['admin-port'], DEFAULT_ADMIN_PORT, '--admin-port');
  const workers = workerCount(values.workers);
  // `--decision-log -` owns stdout: nothing else may write there.
  const out = decisionLog === '-' ? process.stderr : process.stdout;

  if (workers > 1 && cluster.isPrimary) {
    if (values.config !== undefined) loadConfigFile(values.config); // refuse a bad file once, not once per worker
    runPrimary(workers, (line) => process.stderr.write(`${line}\n`));
    out.write(`junction: ${workers} workers serving port ${dataPort} (admin ${adminPort})\n`);
    return undefined;
  }

  // A worker's metrics registry is the one the primary aggregates.
  const metricsRegistry = new Registry();
  const routes: Route[] = cluster.isWorker ? [clusterMetricsRoute(metricsRegistry)] : [];
  const junction = await startJunction({
    configFile: values.config,
    port: dataPort,
    host: values.host ?? '0.0.0.0',
    redis: values.redis,
    routes,
    metricsRegistry,
    // With the decision log on stdout, logs go to stderr so the JSON lines stay clean.
    log: createLogger(decisionLog === '-' ? { destination: pino.destination({ dest: 2, sync: false }) } : {}),
    processMetrics: true,
    decisionLog,
    accessLog: values['access-log'] ?? ['1', 'true'].includes(process.env.JUNCTION_ACCESS_LOG ?? ''),
    control: {
      store: values.store,
      data: values.store === undefined ? values.data ?? DEFAULT_DATA_DIR : undefined,
      watch: values.watch,
      rolloutController: {},
      admin: {
        port: adminPort,
        host: values.host ?? '0.0.0.0',
        token: process.env.JUNCTION_ADMIN_TOKEN || undefined,
        insecure: values['insecure-admin'],
      },
    },
  }).catch((err: unknown) => {
    if (err instanceof StoreOpenError) throw new UserError(err.message);
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new UserError(`${(err as Error).message.replace(/^listen /, '')}: another process holds the port; pick others with --port / --admin-port`);
    }
    throw err;
  });
  const admin = junction.control?.adminUrl ? `, admin ${junction.control.adminUrl}` : '';
  const revision = junction.runtime.current?.number ?? 'none yet: junction apply FILE';
  out.write(`junction: serving ${junction.url}${admin} (revision ${revision}, store ${junction.control?.plane.store.location})\n`);
  const stop = () => {
    void junction.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}
