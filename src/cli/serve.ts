// `junction serve`: the data plane (and, with the control plane, the admin API).
import cluster from 'node:cluster';
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startJunction } from '../app.js';
import { loadConfigFile } from '../config/load.js';
import { Registry } from 'prom-client';
import { clusterMetrics } from '../control/cluster-metrics.js';
import { metricsRoutes } from '../faces/metrics.js';
import { DEFAULT_DATA_DIR, StoreOpenError } from '../control/open-store.js';
import { DEFAULT_ADMIN_PORT } from '../control/start-control.js';
import { runPrimary } from '../control/workers.js';
import { drainListener, loadListenerTls, type ListenerTls } from '../http/listener.js';
import type { Route } from '../faces/types.js';
import { createLogger } from '../observe/logger.js';
import { logRotation } from './log-flags.js';
import { UserError } from './user-error.js';

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UserError(`${flag} must be a port number 0-65535 (got "${value}")`);
  return n;
}

/** A positive whole number flag, or its default. */
function wholeNumber(value: string | undefined, fallback: number, flag: string, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${flag} must be a whole number >= ${min} (got "${value}")`);
  return n;
}

/** How long SIGTERM waits for requests in flight (the Kubernetes default grace is 30 s, less a 5 s preStop). */
const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;
/** What closing the rest (stores, logs, backends) may take after the listeners drained, before process.exit. */
const STOP_MARGIN_MS = 3_000;

function workerCount(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new UserError(`--workers must be a whole number 1-256 (got "${value}")`);
  return n;
}

/** `--log-max-bytes`: bytes, or a number with K, M, G or T (powers of 1024). */
export function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(value.trim());
  const n = m === null ? NaN : Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  if (!Number.isFinite(n) || n < 1)
    throw new UserError(`--log-max-bytes must be a size such as 1073741824, 512M or 10G (got "${value}")`);
  return Math.floor(n);
}

/** What to do when there is no config yet, in the mode this process is in. */
function noConfigHint(adminUrl: string | undefined): string {
  if (adminUrl !== undefined) return `junction apply FILE --admin ${adminUrl}`;
  return 'restart with --config FILE (the admin API is off: set JUNCTION_ADMIN_TOKEN to apply configs over HTTP)';
}

export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      watch: { type: 'boolean' },
      'apply-config': { type: 'boolean' },
      data: { type: 'string' },
      store: { type: 'string' },
      redis: { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      'grpc-port': { type: 'string' },
      'grpc-plaintext': { type: 'boolean' },
      host: { type: 'string' },
      workers: { type: 'string' },
      'decision-log': { type: 'string' },
      'feedback-log': { type: 'string' },
      'log-max-bytes': { type: 'string' },
      'log-rotate': { type: 'string' },
      'log-retain': { type: 'string' },
      'access-log': { type: 'boolean' },
      'insecure-admin': { type: 'boolean' },
      'admin-host': { type: 'string' },
      'admin-allowed-host': { type: 'string', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'max-connections': { type: 'string' },
      'shutdown-grace-ms': { type: 'string' },
    },
  });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UserError('HTTPS needs both --tls-cert FILE and --tls-key FILE');
  }
  let tls: ListenerTls | undefined;
  try {
    tls = values['tls-cert'] === undefined ? undefined : loadListenerTls(values['tls-cert'], values['tls-key']!);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  if (values.store !== undefined && values.data !== undefined) {
    throw new UserError('give either --data DIR (embedded SQLite) or --store postgres://… (shared), not both');
  }
  if (values.watch && values.config === undefined)
    throw new UserError('--watch needs a file to watch: --config FILE --watch');
  if (values['apply-config'] && values.config === undefined)
    throw new UserError('--apply-config needs a file to apply: --config FILE --apply-config');
  const decisionLog = values['decision-log'] ?? process.env.JUNCTION_DECISION_LOG;
  if (decisionLog !== undefined && decisionLog !== '-') {
    try {
      closeSync(openSync(decisionLog, 'a'));
    } catch (err) {
      throw new UserError(
        `--decision-log: cannot write ${decisionLog} (${(err as Error).message}); give a writable file or - for stdout`,
      );
    }
  }
  const feedbackLog = values['feedback-log'];
  if (feedbackLog !== undefined) {
    try {
      closeSync(openSync(feedbackLog, 'a'));
    } catch (err) {
      throw new UserError(
        `--feedback-log: cannot write ${feedbackLog} (${(err as Error).message}); give a writable file`,
      );
    }
  }
  const logMaxBytes = values['log-max-bytes'] === undefined ? undefined : byteSize(values['log-max-bytes']);
  const rotation = logRotation(values['log-rotate'], values['log-retain'], [decisionLog, feedbackLog]);
  const dataPort = port(values.port, 8080, '--port');
  const adminPort = port(values['admin-port'], DEFAULT_ADMIN_PORT, '--admin-port');
  const workers = workerCount(values.workers);
  const maxConnections =
    values['max-connections'] === undefined
      ? undefined
      : wholeNumber(values['max-connections'], 0, '--max-connections', 1);
  const graceMs = wholeNumber(values['shutdown-grace-ms'], DEFAULT_SHUTDOWN_GRACE_MS, '--shutdown-grace-ms', 0);
  const grpcPort = values['grpc-port'] === undefined ? undefined : port(values['grpc-port'], 0, '--grpc-port');
  // `--decision-log -` owns stdout: nothing else may write there.
  const out = decisionLog === '-' ? process.stderr : process.stdout;

  if (workers > 1 && cluster.isPrimary) {
    if (values.config !== undefined) loadConfigFile(values.config); // refuse a bad file once, not once per worker
    runPrimary(workers, (line) => process.stderr.write(`${line}\n`), graceMs + STOP_MARGIN_MS);
    out.write(`junction: ${workers} workers serving port ${dataPort} (admin ${adminPort})\n`);
    return undefined;
  }

  // A worker's metrics registry is the one the primary aggregates.
  const metricsRegistry = new Registry();
  const merged = cluster.isWorker ? clusterMetrics(metricsRegistry) : undefined;
  const routes: Route[] = merged === undefined ? [] : metricsRoutes(merged.text, merged.contentType);
  const adminToken = process.env.JUNCTION_ADMIN_TOKEN || undefined;
  // An admin API without a token stays on loopback unless asked otherwise: on 0.0.0.0
  // anyone on the network could change the routing.
  const adminHost = values['admin-host'] ?? (adminToken === undefined ? '127.0.0.1' : (values.host ?? '0.0.0.0'));
  const junction = await startJunction({
    configFile: values.config,
    port: dataPort,
    host: values.host ?? '0.0.0.0',
    redis: values.redis,
    routes,
    server: { tls, maxConnections },
    metricsRegistry,
    // With the decision log on stdout, logs go to stderr so the JSON lines stay clean.
    log: createLogger(decisionLog === '-' ? { destination: pino.destination({ dest: 2, sync: false }) } : {}),
    processMetrics: true,
    decisionLog,
    feedbackLog,
    logMaxBytes,
    logRotation: rotation,
    accessLog: values['access-log'] ?? ['1', 'true'].includes(process.env.JUNCTION_ACCESS_LOG ?? ''),
    grpc:
      grpcPort === undefined
        ? undefined
        : { port: grpcPort, host: values.host ?? '0.0.0.0', plaintext: values['grpc-plaintext'] },
    control: {
      store: values.store,
      data: values.store === undefined ? (values.data ?? DEFAULT_DATA_DIR) : undefined,
      watch: values.watch,
      applyConfig: values['apply-config'],
      rolloutController: {},
      admin: {
        port: adminPort,
        host: adminHost,
        token: adminToken,
        insecure: values['insecure-admin'],
        allowedHosts: (values['admin-allowed-host'] ?? []).flatMap((h) => h.split(',')),
        tls,
      },
    },
  }).catch((err: unknown) => {
    if (err instanceof StoreOpenError) throw new UserError(err.message);
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new UserError(
        `${(err as Error).message.replace(/^listen /, '')}: another process holds the port; pick others with --port / --admin-port / --grpc-port`,
      );
    }
    throw err;
  });
  const admin = junction.control?.adminUrl ? `, admin ${junction.control.adminUrl}` : '';
  const revision = junction.runtime.current?.number ?? `none yet: ${noConfigHint(junction.control?.adminUrl)}`;
  const grpc = junction.grpc
    ? `; gRPC on port ${junction.grpc.port}${junction.grpc.tls ? ' (TLS)' : tls === undefined ? '' : ' (plaintext: --grpc-plaintext)'}`
    : '';
  out.write(
    `junction: serving ${junction.url}${admin} (revision ${revision}, store ${junction.control?.plane.store.location})${grpc}\n`,
  );
  // SIGTERM drains: no new connections, idle ones closed now, requests in flight given the grace
  // period, then everything left destroyed; process.exit if closing the rest still hangs.
  const stop = (signal: string) => {
    process.stderr.write(`junction: ${signal}: draining (grace ${graceMs} ms)\n`);
    setTimeout(() => {
      process.stderr.write(`junction: not stopped ${graceMs + STOP_MARGIN_MS} ms after ${signal}; exiting anyway\n`);
      process.exit(1);
    }, graceMs + STOP_MARGIN_MS).unref();
    const admin = junction.control?.admin;
    void Promise.all([drainListener(junction.server, graceMs), admin && drainListener(admin, graceMs)])
      .then(() => junction.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`junction: stopping failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return undefined;
}
