// Structured JSON logs (pino). The data plane logs through the small Logger
// interface of faces/data-plane.ts; this file makes the pino instance and the
// per-request observers: an access line (off by default: it costs a JSON line
// per request) and a warning for every request Junction itself failed.
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { Observer, RequestRecord } from './record.js';

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace, silent (default info, or $JUNCTION_LOG_LEVEL). */
  level?: string;
  /** Default: stdout, written asynchronously so logging never blocks the event loop on a slow terminal. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Pino {
  return pino(
    {
      level: opts.level ?? process.env.JUNCTION_LOG_LEVEL ?? 'info',
      base: { service: 'junction' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

interface InfoLog {
  info(obj: object, msg: string): void;
}

interface WarnLog {
  warn(obj: object, msg: string): void;
}

/** One line per request, every route. */
export function accessLog(log: InfoLog): Observer {
  return (r) => log.info(accessFields(r), 'request');
}

export function accessFields(r: RequestRecord): Record<string, unknown> {
  const o = r.outcome;
  return {
    requestId: r.requestId,
    method: r.method,
    path: r.path,
    status: r.status,
    durationMs: Math.round((r.end - r.start) * 1000) / 1000,
    objective: r.objective,
    target: o?.target.id,
    rule: o?.rule,
    cell: o?.cell,
    revision: o?.revision,
    client: r.client,
    trafficClass: r.trafficClass,
    fallback: r.fallback,
    error: r.errorCode,
    upstreamMs: r.upstreamMs === undefined ? undefined : Math.round(r.upstreamMs * 1000) / 1000,
  };
}

/**
 * A warning for each request that ended in one of Junction's own 5xx errors
 * (upstream_error, deadline_exceeded, no_healthy_backend, overloaded), with its
 * request id and objective. `internal` errors are logged where they are caught,
 * with their stack.
 */
export function errorLog(log: WarnLog): Observer {
  return (r) => {
    if (r.errorCode === undefined || r.status < 500 || r.errorCode === 'internal') return;
    log.warn(
      {
        requestId: r.requestId,
        objective: r.objective,
        target: r.outcome?.target.id,
        code: r.errorCode,
        status: r.status,
        detail: r.errorDetail,
      },
      `request failed: ${r.errorCode}`,
    );
  };
}
