// Which observers a Junction runs, from its options: the one place that turns
// "metrics on, tracing from env, decision log to stdout, no access log" into
// data-plane hooks. Everything off costs nothing on the request path.
import type { TracerProvider } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import type { Logger } from '../call/hooks.js';
import type { DecisionLog } from './decision-log.js';
import type { RotationPolicy } from './rotating-file.js';
import { openLogFile } from './rotating-log.js';
import { accessLog, createLogger, errorLog } from './logger.js';
import { createMetrics, type Metrics, type ObservedRevision } from './metrics.js';
import type { Observer, StartObserver } from './record.js';
import { fanOut, type Telemetry } from './telemetry.js';
import { tracerProviderFromEnv } from './tracing-setup.js';
import { requestSpans } from './tracing.js';

/** What the observers read of the runtime (runtime/runtime.ts's Runtime is one; observe/ sits below runtime/). */
export interface ObservedRuntime {
  readonly current: ObservedRevision | undefined;
  onRevision(listener: (next: ObservedRevision) => void): void;
}

export interface ObservabilityOptions {
  metrics?: boolean;
  processMetrics?: boolean;
  /** The registry this Junction's metrics register on (`serve --workers` aggregates it); a new one by default. */
  metricsRegistry?: Registry;
  /** Another sink for what policies and backends report (an embedder's, a test's recorder), besides the metrics. */
  telemetry?: Telemetry;
  tracing?: TracerProvider | 'env' | false;
  decisionLog?: string;
  /** Most bytes the decision-log file may hold (`--log-max-bytes`). */
  logMaxBytes?: number;
  /** `--log-rotate` / `--log-retain`: the decision-log file rotates (then `logMaxBytes` caps it with its rotated files). */
  logRotation?: RotationPolicy;
  accessLog?: boolean;
  log?: Logger;
}

export interface Observability {
  /** This Junction's sink: hand it to the runtime (policies, backends) and to admission. */
  telemetry: Telemetry;
  /** This Junction's Prometheus registry (empty with metrics off), served on /metrics. */
  registry: Registry;
  /** The metrics on that registry, when they are on (the rollout gates read their series). */
  metrics: Metrics | undefined;
  observers: Observer[];
  /** For DataPlane.decided: the decision log's exposures from POST /v1/decide. */
  decided: Observer[];
  onStart: StartObserver[];
  /** Present with a decision log: other events (rollout moves) are appended to it too. */
  decisionLog: DecisionLog | undefined;
  /** Starts reading the runtime: revision gauges and the decision log's sample rates. */
  watch(runtime: ObservedRuntime): void;
  close(): Promise<void>;
}

/**
 * Everything is this Junction's own: its registry, its sink, its tracer, its
 * decision log. Nothing is installed process-wide, so two Junctions in one
 * process (an embedder, a test) count apart.
 */
export function wireObservability(opts: ObservabilityOptions): Observability {
  const observers: Observer[] = [];
  const decided: Observer[] = [];
  const onStart: StartObserver[] = [];
  const closers: Array<() => Promise<void>> = [];
  const watchers: Array<(runtime: ObservedRuntime) => void> = [];

  // With metrics off nothing registers a family: /metrics is empty, as documented.
  const metrics = opts.metrics !== false ? createMetrics(opts.metricsRegistry) : undefined;
  const telemetry = fanOut(metrics?.telemetry, opts.telemetry);
  if (metrics !== undefined) {
    watchers.push((runtime) => runtime.onRevision((next) => metrics.observeRevision(next, telemetry)));
    onStart.push(metrics.start);
    observers.push(metrics.end);
    decided.push(metrics.decided);
    if (opts.processMetrics === true) metrics.collectProcessMetrics();
  }

  const fromEnv = opts.tracing === 'env' || opts.tracing === undefined;
  const provider =
    opts.tracing === 'env' || opts.tracing === undefined ? tracerProviderFromEnv() : opts.tracing || undefined;
  if (provider !== undefined) {
    const spans = requestSpans(provider);
    onStart.push(spans.start);
    observers.push(spans.end);
    // Ours (from env): shut down, which exports what is batched. An embedder's: only flush.
    const sdk = provider as { forceFlush?: () => Promise<void>; shutdown?: () => Promise<void> };
    const finish = fromEnv ? sdk.shutdown : sdk.forceFlush;
    if (typeof finish === 'function') closers.push(() => finish.call(provider));
  }

  let decisionLog: DecisionLog | undefined;
  if (opts.decisionLog !== undefined) {
    let watched: ObservedRuntime | undefined;
    watchers.push((runtime) => {
      watched = runtime;
    });
    const log = (decisionLog = openLogFile(opts.decisionLog, {
      sampleRate: (objective) =>
        watched?.current?.objectives.get(objective)?.compiled.config.observability.decisionLogSample ?? 1,
      onSinkError: (err) => opts.log?.error({ err }, 'decision log sink failed: records are dropped from now on'),
      maxFileBytes: opts.logMaxBytes,
      rotation: opts.logRotation,
      onRotateError: (err) => opts.log?.warn({ err }, 'decision log rotation failed: lines stay in the live file'),
      onFull: (maxBytes) =>
        opts.log?.error(
          { file: opts.decisionLog, maxBytes },
          'decision log reached --log-max-bytes: lines that would pass it are dropped (counted), exposures refused (503)',
        ),
      telemetry,
      revision: () => watched?.current,
    }));
    observers.push(log.observer);
    decided.push(log.observer);
    closers.push(() => log.close());
  }

  if (opts.log !== undefined) observers.push(errorLog(opts.log));
  if (opts.accessLog === true) observers.push(accessLog(opts.log ?? createLogger()));

  return {
    telemetry,
    registry: metrics?.registry ?? opts.metricsRegistry ?? new Registry(),
    metrics,
    observers,
    decided,
    onStart,
    decisionLog,
    watch(runtime) {
      for (const w of watchers) w(runtime);
    },
    async close() {
      for (const close of closers) await close();
    },
  };
}
