// Junction assembled: runtime + data plane (+ admin plane, observers). The CLI's
// `serve` and the tests both start Junction through here.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { TracerProvider } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { loadConfigFile, validateConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { RolloutEvent } from './control/rollout-controller.js';
import { startControl, type ControlOptions, type StartedControl } from './control/start-control.js';
import { createDataPlaneServer, type DataPlane, type Logger, type ServerOptions } from './faces/data-plane.js';
import { listenerUrl } from './http/listener.js';
import { startGrpcFace, type GrpcFace, type GrpcFaceOptions } from './faces/grpc/grpc-face.js';
import type { Route } from './faces/types.js';
import { feedbackRoute } from './faces/feedback.js';
import type { DecisionLog } from './observe/decision-log.js';
import type { RotationPolicy } from './observe/rotating-file.js';
import { openLogFile } from './observe/rotating-log.js';
import { createLogger } from './observe/logger.js';
import type { Observer } from './observe/record.js';
import { costFirst } from './observe/cost.js';
import { wireObservability, type Observability } from './observe/wire.js';
import type { Telemetry } from './observe/telemetry.js';
import { metricsRoutes } from './faces/metrics.js';
import { injectInto, type InjectRequest, type InjectResponse } from './http/inject.js';
import { Runtime } from './runtime/runtime.js';
import { ResponseCache } from './policy/cache-store.js';
import { RedisCacheTier } from './policy/cache-redis.js';
import type { RoutingTable } from './routing/types.js';
import { createTenancy } from './tenancy/admission.js';
import { bodyLimits } from './call/body.js';
import { BucketMemo } from './routing/bucket-memo.js';
import { LocalRateLimiter, type RateLimiter } from './tenancy/rate-limits.js';
import { RedisRateLimiter } from './tenancy/redis-rate-limit.js';
import { RedisTokenLimiter } from './tenancy/redis-token-limit.js';
import { LocalTokenLimiter, type TokenLimiter } from './tenancy/token-limiter.js';
import { Budgets } from './tenancy/budgets.js';
import { LocalBudgetCounter, type BudgetCounter } from './tenancy/budget-counter.js';
import { RedisBudgetCounter } from './tenancy/redis-budget-counter.js';
import { createBudgetMetrics } from './observe/budget-metrics.js';
import { ReadoutRunner, SERVING_READOUT_LIMITS, type ReadoutLimits } from './readout/runner.js';

/**
 * Buckets the data plane remembers (unit, experiment or rollout pairs seen
 * twice): a few MB at most, answered with two Map lookups instead of a SHA-256.
 */
const SERVER_BUCKET_MEMO = 32_768;

export interface JunctionOptions {
  /** A config file (YAML or JSON) … */
  configFile?: string;
  /** … or a config value (validated here), with the folder its relative paths resolve against. */
  config?: unknown;
  baseDir?: string;
  /** Data-plane port (0: any free one). With `listen: false` nothing listens: requests go through `inject`. */
  port?: number;
  listen?: boolean;
  host?: string;
  observers?: Observer[];
  log?: Logger;
  server?: ServerOptions;
  /** Redis URL: per-client rate limits shared across replicas (else local to this process). */
  redis?: string;
  /**
   * The response cache (objectives with `cache`): bytes held in process (default 64 MiB), and,
   * with `redis`, its key prefix and how long a call waits on Redis (default 50 ms).
   */
  responseCache?: { maxBytes?: number; redisPrefix?: string; redisTimeoutMs?: number };
  /** Prometheus metrics (default on) and Node.js process metrics (default off). */
  metrics?: boolean;
  processMetrics?: boolean;
  /** The registry the metrics register on (`serve --workers` aggregates it); this Junction's own by default. */
  metricsRegistry?: Registry;
  /** Another sink for what policies, backends and admission report (an embedder's, a test's recorder), besides the metrics. */
  telemetry?: Telemetry;
  /** A tracer provider, or 'env' (default) for OTLP export when OTEL_* variables ask for it, or false. */
  tracing?: TracerProvider | 'env' | false;
  /** `-` (stdout) or a file path for the decision log. */
  decisionLog?: string;
  /** A file for the feedback log (POST /v1/feedback); without it feedback is refused with a hint. */
  feedbackLog?: string;
  /** Most bytes the decision-log and feedback-log files may each hold (`--log-max-bytes`); past it their lines are refused. */
  logMaxBytes?: number;
  /** `--log-rotate` / `--log-retain`: the decision-log and feedback-log files rotate (observe/rotating-file.ts); `logMaxBytes` then caps each log with its rotated files. */
  logRotation?: RotationPolicy;
  /** The rate limiter (tests inject one on a fixed clock); by default local, or shared through `redis`. */
  rateLimiter?: RateLimiter;
  /** The token limiter (tpm, SPEC §16); by default local, or shared through `redis`. */
  tokenLimiter?: TokenLimiter;
  /** Spend budgets' counters (SPEC §16): local, or shared through `redis` (its key prefix, and how long a value read is used: default 50 ms). */
  budgets?: { counter?: BudgetCounter; redisPrefix?: string; freshMs?: number };
  /** One log line per request (default off). */
  accessLog?: boolean;
  /** Extra data-plane routes (e.g. /metrics aggregated across --workers). */
  routes?: Route[];
  /** The control plane (store, revisions, admin API, watch, rollout controller); off when absent. */
  control?: ControlOptions;
  /** The Open Inference Protocol over gRPC (SPEC §13) on its own port; off when absent. */
  grpc?: GrpcFaceOptions;
  /** Limits of GET /admin/experiments/{id}/results (DuckDB memory and threads, queue, time); SERVING_READOUT_LIMITS by default. */
  readout?: ReadoutLimits;
}

export interface Junction {
  runtime: Runtime;
  dataPlane: DataPlane;
  server: Server;
  /** `http://host:port` of the data plane (`https://` with `server.tls`; '' when started with `listen: false`). */
  url: string;
  /** One request through the data plane's own handler, without a socket (src/http/inject.ts). */
  inject(req: InjectRequest): Promise<InjectResponse>;
  rateLimiter: RateLimiter;
  tokenLimiter: TokenLimiter;
  budgets: Budgets;
  /** Present when started with `control`. */
  control?: StartedControl;
  /** Present when started with `grpc`. */
  grpc?: GrpcFace;
  close(): Promise<void>;
}

export async function startJunction(opts: JunctionOptions): Promise<Junction> {
  // This Junction's own observability and model sessions: nothing process-global (two instances count apart).
  const observability: Observability = wireObservability(opts);
  // Backends log what they ignore (load reports, discovery): to the given log, or one made on first use.
  let backendLog: Logger | undefined = opts.log;
  const logBackend = (): Logger => (backendLog ??= createLogger());
  const runtime = new Runtime({
    telemetry: observability.telemetry,
    responses: new ResponseCache({
      maxBytes: opts.responseCache?.maxBytes,
      telemetry: observability.telemetry,
      // With serve --redis, replicas share answers; Redis down or slow, each answers from its own.
      shared:
        opts.redis === undefined
          ? undefined
          : new RedisCacheTier(opts.redis, {
              prefix: opts.responseCache?.redisPrefix,
              timeoutMs: opts.responseCache?.redisTimeoutMs,
              telemetry: observability.telemetry,
              onFallback: (err) =>
                opts.log?.warn({ err: (err as Error).message }, 'redis response cache unavailable; caching locally'),
            }),
    }),
    logger: {
      error: (o, m) => logBackend().error(o, m),
      warn: (o, m) => logBackend().warn(o, m),
      info: (o, m) => logBackend().info(o, m),
    },
  });
  observability.watch(runtime);
  let control: StartedControl | undefined;
  let readoutRunner: ReadoutRunner | undefined;
  // The outcome side of the exposure log, through the decision log's bounded writer.
  const feedbackLog: DecisionLog | undefined =
    opts.feedbackLog === undefined
      ? undefined
      : openLogFile(opts.feedbackLog, {
          sampleRate: () => 1,
          sinkName: 'feedback_log',
          telemetry: observability.telemetry,
          maxFileBytes: opts.logMaxBytes,
          onFull: (maxBytes) =>
            opts.log?.error(
              { file: opts.feedbackLog, maxBytes },
              'feedback log reached --log-max-bytes: feedback that would pass it is refused (503)',
            ),
          onSinkError: (err) => opts.log?.error({ err }, 'feedback log sink failed: feedback is dropped from now on'),
          rotation: opts.logRotation,
          onRotateError: (err) => opts.log?.warn({ err }, 'feedback log rotation failed: lines stay in the live file'),
        });
  let config: Config | undefined;
  let source: unknown;
  let baseDir = opts.baseDir ?? process.cwd();
  if (opts.configFile !== undefined) {
    const loaded = loadConfigFile(opts.configFile);
    ({ config, source, baseDir } = loaded);
  } else if (opts.config !== undefined) {
    config = validateConfig(opts.config);
    source = opts.config;
  }
  const rateLimiter: RateLimiter =
    opts.rateLimiter ??
    (opts.redis === undefined
      ? new LocalRateLimiter()
      : new RedisRateLimiter(opts.redis, {
          onFallback: (err) =>
            opts.log?.warn({ err: (err as Error).message }, 'redis rate limit unavailable; using the local limit'),
          telemetry: observability.telemetry,
        }));
  const tokenLimiter: TokenLimiter =
    opts.tokenLimiter ??
    (opts.redis === undefined
      ? new LocalTokenLimiter()
      : new RedisTokenLimiter(opts.redis, {
          onFallback: (err) =>
            opts.log?.warn({ err: (err as Error).message }, 'redis token limit unavailable; using the local limit'),
          telemetry: observability.telemetry,
        }));
  // Budgets count in Redis with serve --redis; a window's counter starts from the store's ledger (once control runs).
  const onSeedError = (err: unknown) =>
    logBackend().warn({ err: String(err) }, 'budget: the spend ledger could not be read; the window counts from 0');
  const budgets = new Budgets({
    counter:
      opts.budgets?.counter ??
      (opts.redis === undefined
        ? new LocalBudgetCounter(undefined, onSeedError)
        : new RedisBudgetCounter(opts.redis, {
            prefix: opts.budgets?.redisPrefix,
            freshMs: opts.budgets?.freshMs,
            telemetry: observability.telemetry,
            onSeedError,
            onFallback: (err) =>
              opts.log?.warn(
                { err: (err as Error).message },
                'redis budget counters unavailable; spend.onRedisDown applies',
              ),
          })),
    spend: (q) =>
      control === undefined ? Promise.resolve(undefined) : control.plane.store.sumSpend(q).then(([total]) => total),
    telemetry: observability.telemetry,
    metrics: observability.metrics === undefined ? undefined : createBudgetMetrics(observability.registry),
    log: {
      error: (o, m) => logBackend().error(o, m),
      warn: (o, m) => logBackend().warn(o, m),
      info: (o, m) => logBackend().info(o, m),
    },
  });
  // One teardown, in reverse order of start, for a failed start and for close().
  const release = async () => {
    await control?.close();
    await readoutRunner?.close();
    await runtime.close();
    await rateLimiter.close();
    await tokenLimiter.close();
    await budgets.close();
    await observability.close();
    await feedbackLog?.close();
  };
  try {
    if (opts.control) {
      // The store is the truth: the file or value (if any) seeds an empty store, or is applied with applyConfig (begin(), below).
      const log = opts.log ?? createLogger();
      readoutRunner = new ReadoutRunner({ ...SERVING_READOUT_LIMITS, ...opts.readout });
      const readouts = {
        decisions: opts.decisionLog === undefined || opts.decisionLog === '-' ? [] : [opts.decisionLog],
        feedback: opts.feedbackLog === undefined ? [] : [opts.feedbackLog],
        runner: readoutRunner,
      };
      // The controller's moves join the decision log as rollout events.
      const decisionLog = observability.decisionLog;
      const rolloutController =
        opts.control.rolloutController && decisionLog
          ? {
              ...opts.control.rolloutController,
              onMove: (e: RolloutEvent) => {
                decisionLog.appendLine(JSON.stringify(e));
                opts.control?.rolloutController?.onMove?.(e);
              },
            }
          : opts.control.rolloutController;
      control = await startControl(
        runtime,
        { ...opts.control, rolloutController, readouts: opts.control.readouts ?? readouts },
        { configFile: opts.configFile, source, baseDir, log, metrics: observability.metrics },
      );
    } else if (config) {
      await runtime.apply(config, { number: 1, source, baseDir });
    }
  } catch (err) {
    await release();
    throw err;
  }
  const tenancy = createTenancy(
    () => runtime.current?.config,
    rateLimiter,
    observability.telemetry,
    tokenLimiter,
    budgets,
  );
  const dataPlane: DataPlane = {
    runtime,
    version: packageVersion(),
    log: opts.log,
    authenticate: tenancy.authenticate,
    admitCaller: tenancy.admitCaller,
    bodies: bodyLimits(opts.server),
    // The cost first (SPEC §16): every observer after it reads `record.cost`.
    // Budgets count after the spend ledger has seen the call.
    observers: costFirst(
      [...observability.observers, ...(opts.observers ?? []), ...(control?.observers ?? []), budgets.observe],
      (n) => routingOf(runtime, n),
    ),
    decided: [...observability.decided, ...(control?.decided ?? [])],
    decisionLog: observability.decisionLog,
    onStart: observability.onStart,
    admit: tenancy.admit,
    replySampler: control?.replySampler,
    buckets: new BucketMemo(SERVER_BUCKET_MEMO),
    routes: [
      ...(opts.routes ?? []),
      // With PostgreSQL, feedback joins the fleet readout too (control/fleet-readout-writer.ts).
      feedbackRoute(
        feedbackLog,
        undefined,
        control?.readoutWriter && ((lines) => control?.readoutWriter?.feedback(lines)),
      ),
      ...metricsRoutes(() => observability.registry.metrics(), observability.registry.contentType),
    ],
  };
  const server = createDataPlaneServer(dataPlane, { ...opts.server, telemetry: observability.telemetry });
  const listen = opts.listen !== false;
  if (listen) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // A deep accept backlog: thousands of clients connecting at once must not wait on SYN retries (Node's default is 511).
        server.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1', backlog: 4096 }, () => resolve());
      });
    } catch (err) {
      await release();
      throw err;
    }
  }
  let grpc: GrpcFace | undefined;
  try {
    // With TLS on the data plane every listener serves it; a plaintext gRPC port is asked for (`plaintext`).
    if (opts.grpc !== undefined)
      grpc = await startGrpcFace(dataPlane, {
        host: opts.host,
        ...opts.grpc,
        tls: opts.grpc.tls ?? (opts.grpc.plaintext === true ? undefined : opts.server?.tls),
      });
    // Every listener is bound: only now is the config given at start written to the store, so a
    // process that fails to start (a port taken) has written nothing (control/start-control.ts).
    await control?.begin();
  } catch (err) {
    await grpc?.close();
    if (listen) server.close();
    await release();
    throw err;
  }
  return {
    runtime,
    dataPlane,
    server,
    url: listen ? listenerUrl(opts.server?.tls, opts.host ?? '127.0.0.1', (server.address() as AddressInfo).port) : '',
    inject: (req) => injectInto(server, req),
    rateLimiter,
    tokenLimiter,
    budgets,
    control,
    grpc,
    async close() {
      await grpc?.close();
      if (listen) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await release();
    },
  };
}

/** The routing table of revision `n`: the live one, or the one before it while requests begun on it finish. */
function routingOf(runtime: Runtime, n: number): RoutingTable | undefined {
  const live = runtime.current?.routing;
  if (live === undefined || live.revision === n) return live;
  return runtime.previousRouting?.revision === n ? runtime.previousRouting : live;
}

/** The package's version (OIP server metadata, `junction --version`): src/app.ts and dist/app.js both sit one level below package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
