// Which observers a Junction runs, from its options: the one place that turns
// "metrics on, tracing from env, decision log to stdout, no access log" into
// data-plane hooks. Everything off costs nothing on the request path.
import type { TracerProvider } from '@opentelemetry/api';
import type { Logger } from '../call/hooks.js';
import { openDecisionLog } from './decision-log.js';
import { accessLog, createLogger, errorLog } from './logger.js';
import {
  collectProcessMetrics, metricsEnd, metricsStart, observeRevision, prometheusTelemetry, type ObservedRevision,
} from './metrics.js';
import type { Observer, StartObserver } from './record.js';
import { installTelemetry, NO_TELEMETRY, telemetry } from './telemetry.js';
import { tracerProviderFromEnv } from './tracing-setup.js';
import { endRequestSpan, installTracerProvider, startRequestSpan } from './tracing.js';

/** What the observers read of the runtime (runtime/runtime.ts's Runtime is one; observe/ sits below runtime/). */
export interface ObservedRuntime {
  readonly current: ObservedRevision | undefined;
  onRevision(listener: (next: ObservedRevision) => void): void;
}

export interface ObservabilityOptions {
  metrics?: boolean;
  processMetrics?: boolean;
  tracing?: TracerProvider | 'env' | false;
  decisionLog?: string;
  accessLog?: boolean;
  log?: Logger;
}

export interface Observability {
  observers: Observer[];
  /** For DataPlane.decided: the decision log's exposures from POST /v1/decide. */
  decided: Observer[];
  onStart: StartObserver[];
  close(): Promise<void>;
}

export function wireObservability(runtime: ObservedRuntime, opts: ObservabilityOptions): Observability {
  const observers: Observer[] = [];
  const decided: Observer[] = [];
  const onStart: StartObserver[] = [];
  const closers: Array<() => Promise<void>> = [];

  if (opts.metrics !== false) {
    // One sink per process: keep one already installed (an embedder's, or a test's recorder).
    if (telemetry() === NO_TELEMETRY) installTelemetry(prometheusTelemetry);
    runtime.onRevision((next) => observeRevision(next));
    onStart.push(metricsStart);
    observers.push(metricsEnd);
    if (opts.processMetrics === true) collectProcessMetrics();
  }

  const fromEnv = opts.tracing === 'env' || opts.tracing === undefined;
  const provider = opts.tracing === 'env' || opts.tracing === undefined ? tracerProviderFromEnv() : opts.tracing || undefined;
  if (provider !== undefined) {
    installTracerProvider(provider);
    onStart.push(startRequestSpan);
    observers.push(endRequestSpan);
    // Ours (from env): shut down, which exports what is batched. An embedder's: only flush.
    const sdk = provider as { forceFlush?: () => Promise<void>; shutdown?: () => Promise<void> };
    const finish = fromEnv ? sdk.shutdown : sdk.forceFlush;
    if (typeof finish === 'function') closers.push(() => finish.call(provider));
  }

  if (opts.decisionLog !== undefined) {
    const log = openDecisionLog(opts.decisionLog, {
      sampleRate: (objective) => runtime.current?.objectives.get(objective)?.compiled.config.observability.decisionLogSample ?? 1,
      onSinkError: (err) => opts.log?.error({ err }, 'decision log sink failed: records are dropped from now on'),
    });
    observers.push(log.observer);
    decided.push(log.observer);
    closers.push(() => log.close());
  }

  if (opts.log !== undefined) observers.push(errorLog(opts.log));
  if (opts.accessLog === true) observers.push(accessLog(opts.log ?? createLogger()));

  return {
    observers, decided, onStart,
    async close() {
      for (const close of closers) await close();
    },
  };
}
