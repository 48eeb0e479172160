// A version served by remote HTTP endpoints. The body streams to the picked
// endpoint untouched; the response streams back; protocol specifics are only
// the path, the readiness check and, for openai, the `model` field (see
// ../protocols/).
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Call, Reply } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import { JunctionError } from '../../errors.js';
import { NO_TELEMETRY, type Telemetry } from '../../observe/telemetry.js';
import type { Target } from '../../routing/types.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { WireProtocol } from '../protocols/types.js';
import type { Backend } from '../types.js';
import { EndpointSet } from './endpoints.js';
import { HealthChecker } from './health-check.js';

const HEALTH_DEFAULTS = { intervalMs: 5000, timeoutMs: 1000 };

export function createHttpBackend(target: Target, cfg: HttpBackendConfig, telemetry: Telemetry = NO_TELEMETRY): Backend {
  const found = PROTOCOLS[cfg.protocol];
  if (!found) throw new Error(`no wire protocol "${cfg.protocol}"`);
  const protocol: WireProtocol = found;
  const set = new EndpointSet(cfg.endpoints, {
    connections: cfg.connections,
    maxConcurrency: cfg.maxConcurrency,
    consecutiveFailures: cfg.ejection?.consecutiveFailures ?? 5,
    baseEjectionMs: cfg.ejection?.baseEjectionMs ?? 10_000,
    maxEjectedPercent: cfg.ejection?.maxEjectedPercent ?? 50,
  }, (e, healthy) => telemetry.endpointHealthy(target.id, e.url, healthy));
  for (const e of set.endpoints) telemetry.endpointOpened(target.id, e.url);

  // A configured path is absolute on the endpoint's origin (what an operator
  // would curl); the protocol's own path follows the endpoint's base path.
  const protocolHealth = protocol.healthPath(cfg, target);
  const checker = cfg.health?.path !== undefined || protocolHealth !== undefined
    ? new HealthChecker(set, {
      path: (e) => cfg.health?.path ?? upstreamPath(e.basePath, protocolHealth!),
      intervalMs: cfg.health?.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
      timeoutMs: cfg.health?.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
      healthy: cfg.health?.path === undefined && protocol.healthy ? protocol.healthy : (status) => status >= 200 && status < 300,
    })
    : undefined;
  checker?.start();

  async function send(call: Call): Promise<Reply> {
    const rewritten = protocol.rewriteBody ? await protocol.rewriteBody(call, cfg) : undefined;
    const path = protocol.path(call, cfg);
    const now = performance.now();
    const endpoint = set.pick(now);
    if (endpoint === undefined) {
      const objective = call.objective.name;
      if (set.anyAvailable(now)) throw new JunctionError('overloaded', `every endpoint of ${target.id} is at its concurrency cap`, { objective });
      throw new JunctionError('no_healthy_backend', `no endpoint of ${target.id} is available`, { objective });
    }
    const remaining = Math.max(1, Math.floor(call.deadline - now));
    // A rewritten body has its own length; copy so a fallback to another protocol sees the caller's headers.
    const headers = rewritten === undefined ? call.headers : { ...call.headers, 'content-length': String(rewritten.length) };
    headers['x-request-id'] = call.requestId;
    headers['x-deadline-ms'] = String(remaining);
    const hasBody = call.method !== 'GET' && call.method !== 'HEAD';
    endpoint.outstanding++;
    let response;
    try {
      response = await endpoint.pool.request({
        path: upstreamPath(endpoint.basePath, path),
        method: call.method as 'POST',
        headers,
        body: hasBody ? rewritten ?? call.body.open() : null,
        signal: call.signal,
        headersTimeout: remaining,
        bodyTimeout: remaining,
      });
    } catch (err) {
      endpoint.outstanding--;
      throw upstreamFailure(err, call, target, () => set.failure(endpoint, performance.now()));
    }
    const body = response.body as unknown as Readable;
    body.once('close', () => { endpoint.outstanding--; });
    if (response.statusCode >= 500) set.failure(endpoint, performance.now());
    else set.success(endpoint);
    return { status: response.statusCode, headers: response.headers, body };
  }

  return {
    send,
    healthy: () => set.anyAvailable(performance.now()),
    endpoint: () => cfg.endpoints[0],
    close: async () => {
      checker?.stop();
      await set.close();
      for (const e of set.endpoints) telemetry.endpointClosed(target.id, e.url);
    },
  };
}

function upstreamPath(base: string, rest: string): string {
  const path = base + rest;
  return path.charCodeAt(0) === 47 /* / */ ? path : `/${path}`;
}

function upstreamFailure(err: unknown, call: Call, target: Target, countFailure: () => void): JunctionError {
  if (err instanceof JunctionError) return err; // e.g. payload_too_large from the body stream
  if (call.signal.aborted) {
    const reason = call.signal.reason;
    if (reason instanceof JunctionError) return reason;
    return new JunctionError('deadline_exceeded', `call to ${target.id} aborted`, { objective: call.objective.name, cause: err });
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new JunctionError('deadline_exceeded', `${target.id} did not answer within the deadline`, { objective: call.objective.name, cause: err });
  }
  countFailure();
  const what = code ? `${code} ${(err as Error).message}` : (err as Error).message;
  return new JunctionError('upstream_error', `${target.id} failed: ${what}`, { objective: call.objective.name, cause: err });
}
