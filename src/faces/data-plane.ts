// The data plane server (SPEC §2, default port 8080) on node:http: the fewest
// hops from socket to upstream. Routes come from one file per face.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { Admission, Logger } from '../call/hooks.js';
import { JunctionError, toJunctionError } from '../errors.js';
import { newRecord, type Observer, type RequestRecord, type StartObserver } from '../observe/record.js';
import type { CompiledObjective } from '../routing/types.js';
import type { Runtime } from '../runtime/runtime.js';
import { writeError, type Face } from './error-reply.js';
import { compilePattern, type Matcher, type Route } from './route.js';
import { objectiveRoutes } from './objectives.js';
import { decideRoutes } from './decide-api.js';
import { healthRoutes } from './health.js';
import { openaiRoutes } from './openai.js';
import { oipRoutes } from './oip.js';

// Contract types (src/call/hooks.ts), re-exported for the code that names them here.
export type { Admission, Logger } from '../call/hooks.js';

export interface DataPlane {
  runtime: Runtime;
  /** Authenticates and admits a request for an objective, filling record.client; throws (or rejects) with a JunctionError to refuse. */
  admit?: (req: IncomingMessage, objective: CompiledObjective, record: RequestRecord) => Admission | undefined | Promise<Admission | undefined>;
  observers: Observer[];
  /**
   * Told of each decision POST /v1/decide makes, one record per item (via
   * `decide`, no backend call): the decision log's exposures. Request observers
   * (metrics, gate statistics) are not told: a decision served no request.
   */
  decided?: Observer[];
  /** Run by the invoke path once the objective is known (in-flight gauges, request spans). */
  onStart?: StartObserver[];
  log?: Logger;
  /** Extra routes (protocol faces, /metrics) added by other modules. */
  routes?: Route[];
}

interface CompiledRoute extends Route {
  match: Matcher;
}

export interface ServerOptions {
  /** Slow clients may not hold a socket forever (slowloris): whole-request and header budgets. */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** How often those budgets are checked (Node's default, 30 s, lets a slow client hold a socket that long). */
  timeoutCheckIntervalMs?: number;
}

/** Parser failures that have their own status; anything else malformed is a 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

export function createDataPlaneServer(dp: DataPlane, opts: ServerOptions = {}): Server {
  const routes: CompiledRoute[] = [...objectiveRoutes, ...openaiRoutes, ...oipRoutes, ...(dp.routes ?? []), ...decideRoutes, ...healthRoutes]
    .map((r) => ({ ...r, match: compilePattern(r.pattern) }));

  const server = createServer({
    requestTimeout: opts.requestTimeoutMs ?? 300_000,
    headersTimeout: opts.headersTimeoutMs ?? 10_000,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65_000,
    connectionsCheckingInterval: opts.timeoutCheckIntervalMs ?? 1_000,
  }, (req, res) => handle(dp, routes, req, res));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy(err);
  });
  return server;
}

function handle(dp: DataPlane, routes: readonly CompiledRoute[], req: IncomingMessage, res: ServerResponse): void {
  const start = performance.now();
  const incomingId = req.headers['x-request-id'];
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const record = newRecord(
    typeof incomingId === 'string' && incomingId !== '' && incomingId.length <= 200 ? incomingId : randomUUID(),
    req.method ?? 'GET', path, start,
  );
  if (dp.observers.length > 0) {
    res.once('close', () => {
      record.end = performance.now();
      if (record.status === 0) record.status = res.statusCode;
      for (const observe of dp.observers) observe(record);
    });
  }

  const segments = path.split('/').slice(1);
  let face: Face = 'junction';
  let allowed: string[] | undefined;
  for (const route of routes) {
    const params = route.match(segments);
    if (params === undefined) continue;
    face = route.face;
    if (!route.methods.includes(req.method ?? '')) {
      (allowed ??= []).push(...route.methods);
      continue;
    }
    let done: Promise<void> | void;
    try {
      done = route.handle({ dp, req, res, record, params, query });
    } catch (err) {
      fail(dp, res, record, err, face);
      return;
    }
    if (done) done.catch((err: unknown) => fail(dp, res, record, err, face));
    return;
  }
  const err = allowed
    ? new JunctionError('method_not_allowed', `${req.method} is not allowed here; use ${[...new Set(allowed)].join(', ')}`)
    : new JunctionError('not_found', `no route for ${req.method} ${path}`);
  fail(dp, res, record, err, face);
}

function fail(dp: DataPlane, res: ServerResponse, record: RequestRecord, err: unknown, face: Face): void {
  const jerr = toJunctionError(err);
  if (jerr.code === 'internal') dp.log?.error({ err, requestId: record.requestId, objective: record.objective }, 'internal error');
  record.status = jerr.status;
  record.errorCode = jerr.code;
  writeError(res, jerr, face, record.requestId);
}
