// The data plane server (SPEC §2, default port 8080) on node:http: the fewest
// hops from socket to upstream. Routes come from one file per face.
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { OPEN_ADMITTED, type AdmittedCaller, type Admission, type Caller, type Logger } from '../call/hooks.js';
import { JunctionError, toJunctionError } from '../errors.js';
import {
  endRecord,
  newRecord,
  notifyObservers,
  type Observer,
  type RequestRecord,
  type StartObserver,
} from '../observe/record.js';
import type { DecisionLog } from '../observe/decision-log.js';
import { RequestIds } from '../observe/request-ids.js';
import type { BucketMemo } from '../routing/bucket-memo.js';
import type { CompiledObjective } from '../routing/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { BodyLimitOptions, BodyLimits } from '../call/body.js';
import type { Telemetry } from '../observe/telemetry.js';
import { writeError, type Face } from './error-reply.js';
import { Router, type Route, type RouteContext } from './route.js';
import { answerClientErrors, answerExpectContinue, requestBoundary, splitUrl } from './boundary.js';
import type { ReplySampler } from './reply-sample.js';
import { createListener, type ListenerTls } from './listener.js';
import { objectiveRoutes } from './objectives.js';
import { decideRoutes } from './decide-api.js';
import { exposureRoutes } from './exposures.js';
import { snapshotRoutes } from './snapshot.js';
import { healthRoutes } from './health.js';
import { openaiRoutes } from './openai.js';
import { oipRoutes } from './oip.js';

// Contract types (src/call/hooks.ts), re-exported for the code that names them here.
export type { AdmittedCaller, Admission, Caller, Logger } from '../call/hooks.js';

export interface DataPlane {
  runtime: Runtime;
  /** Authenticates and admits a request for an objective, filling record.client; throws (or rejects) with a JunctionError to refuse. */
  admit?: (
    req: { headers: IncomingHttpHeaders },
    objective: CompiledObjective,
    record: RequestRecord,
  ) => Admission | undefined | Promise<Admission | undefined>;
  /**
   * The key check alone, for what must be refused before a body is read or
   * anything is disclosed (decide, explain, snapshot, /metrics, the OpenAI face):
   * throws 401 when clients are configured and the key is missing or unknown.
   */
  authenticate?: (req: { headers: IncomingHttpHeaders }) => Caller;
  /**
   * Admits a request to a route that invokes no objective (Route.admission
   * `caller`, the default) by the client's limits: key, one unit of rate, a
   * concurrency slot the data plane gives back when the response closes.
   * Without it, such routes get the key check alone (`authenticate`).
   */
  admitCaller?: (req: { headers: IncomingHttpHeaders }, record: RequestRecord) => Promise<AdmittedCaller>;
  /** Bounds on reading request bodies: the slowest acceptable rate and the memory all buffered bodies may hold. */
  bodies?: BodyLimits;
  observers: Observer[];
  /**
   * Told of each decision POST /v1/decide makes, one record per item (via
   * `decide`, no backend call): the decision log's exposures. Request observers
   * (metrics, gate statistics) are not told: a decision served no request.
   */
  decided?: Observer[];
  /**
   * The decision log (one of `decided`), when there is one: POST /v1/exposures
   * hands it a batch's lines all or none, to answer how many were written.
   */
  decisionLog?: DecisionLog;
  /** Run by the invoke path once the objective is known (in-flight gauges, request spans). */
  onStart?: StartObserver[];
  log?: Logger;
  /**
   * Buckets of units seen again (returning users decide again and again): a
   * bucket is a pure function of salt and unit, so a remembered one is the
   * computed one; the memo steps aside when units do not repeat.
   */
  buckets?: BucketMemo;
  /** Keeps copies of sampled replies (the rollout gates' output scores). */
  replySampler?: ReplySampler | undefined;
  /** Extra routes (protocol faces, /metrics) added by other modules. */
  routes?: Route[];
}

export interface ServerOptions extends BodyLimitOptions {
  /** Slow clients may not hold a socket forever (slowloris): whole-request and header budgets. */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** How often those budgets are checked (Node's default, 30 s, lets a slow client hold a socket that long). */
  timeoutCheckIntervalMs?: number;
  /** A connection that sends no byte by then is closed (default: the headers budget). */
  firstByteTimeoutMs?: number;
  /** A TLS handshake not done by then is cut (default 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * Open connections at most (serve --max-connections); at the cap the oldest
   * idle connection is shed for a new one, and a new one is refused only when
   * none is idle. Default: 60 % of the process's file-descriptor limit.
   */
  maxConnections?: number;
  /** Where connections shed or refused at the cap are counted (`junction_dropped_total{sink="connections_shed|connections_refused"}`). */
  telemetry?: Telemetry;
  /** Serve HTTPS with this certificate and key (serve --tls-cert/--tls-key). */
  tls?: ListenerTls;
  /** Snapshot long-polls (`?wait=`) held at once by this process (default 1,000); beyond it 503 overloaded. */
  maxLongPolls?: number;
}

/** Every route the data plane serves, in match order (test/tenancy/every-route.test.ts walks them). */
export function dataPlaneRoutes(dp: DataPlane, opts: ServerOptions = {}): Route[] {
  return [
    ...objectiveRoutes,
    ...openaiRoutes,
    ...oipRoutes,
    ...(dp.routes ?? []),
    ...decideRoutes,
    ...snapshotRoutes({ maxLongPolls: opts.maxLongPolls }),
    ...exposureRoutes,
    ...healthRoutes,
  ];
}

export function createDataPlaneServer(dp: DataPlane, opts: ServerOptions = {}): Server {
  const router = new Router<Route>(dataPlaneRoutes(dp, opts));
  const ids = new RequestIds();
  const listener = requestBoundary(
    (req, res) => handle(dp, router, ids, req, res),
    (req, res, err) => fail(dp, res, recordOf(req, ids), err, 'junction'),
    (bug) => dp.log?.error({ err: String(bug) }, 'could not write an error reply'),
  );
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const server = createListener(
    opts.tls,
    {
      requestTimeout: opts.requestTimeoutMs ?? 300_000,
      headersTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65_000,
      connectionsCheckingInterval: opts.timeoutCheckIntervalMs ?? 1_000,
    },
    listener,
    {
      maxConnections: opts.maxConnections,
      firstByteTimeoutMs: opts.firstByteTimeoutMs ?? headersTimeout,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
    },
    {
      name: 'data plane',
      onShed: (kind) => opts.telemetry?.dropped(kind === 'refused' ? 'connections_refused' : 'connections_shed'),
      log: (fields, msg) => dp.log?.warn(fields, msg),
    },
  );
  answerClientErrors(server);
  answerExpectContinue(server, listener);
  return server;
}

/** The request's record, kept on the request so the boundary can note a failure the handler did not catch. */
const RECORD = Symbol('junction.record');
type WithRecord = IncomingMessage & { [RECORD]?: RequestRecord };

function recordOf(req: IncomingMessage, ids: RequestIds): RequestRecord {
  return ((req as WithRecord)[RECORD] ??= newRecord(
    ids.fromHeader(req.headers['x-request-id']),
    req.method ?? 'GET',
    splitUrl(req.url).path,
    performance.now(),
  ));
}

function handle(
  dp: DataPlane,
  router: Router<Route>,
  ids: RequestIds,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> | void {
  const start = performance.now();
  const { path, query } = splitUrl(req.url);
  const record = newRecord(ids.fromHeader(req.headers['x-request-id']), req.method ?? 'GET', path, start);
  (req as WithRecord)[RECORD] = record;
  if (dp.observers.length > 0) {
    // The one "request ended" record: made once the response is closed, whatever closed it.
    // 'close' comes once: `on` spares the per-request wrapper `once` allocates.
    res.on('close', () => {
      notifyObservers(dp.observers, endRecord(record, res, performance.now()), dp.log);
    });
  }

  const found = router.match(req.method ?? '', path);
  if (found.route === undefined) {
    const err =
      found.allowed.length > 0
        ? new JunctionError('method_not_allowed', `${req.method} is not allowed here; use ${found.allowed.join(', ')}`)
        : new JunctionError('not_found', `no route for ${req.method} ${path.slice(0, 200)}`);
    fail(dp, res, record, err, found.near?.face ?? 'junction');
    return;
  }
  const route = found.route;
  const face = route.face;
  const ctx: RouteContext = { dp, req, res, record, params: found.params, query, caller: OPEN_ADMITTED };
  let done: Promise<void> | void;
  try {
    // Every route is admitted here or by invoke (Route.admission): none can skip the client's limits.
    done = (route.admission ?? 'caller') === 'caller' ? admitted(route, ctx) : route.handle(ctx);
  } catch (err) {
    fail(dp, res, record, err, face);
    return;
  }
  return done?.catch((err: unknown) => fail(dp, res, record, err, face));
}

/**
 * Admits the caller by its client's limits before the handler runs (before a
 * byte of the body is read), holding its concurrency slot until the response
 * closes, however it closes.
 */
function admitted(route: Route, ctx: RouteContext): Promise<void> | void {
  const { dp, req, res, record } = ctx;
  if (dp.admitCaller === undefined) {
    const caller = dp.authenticate?.(req) ?? OPEN_ADMITTED;
    record.client = caller.client;
    return route.handle({ ...ctx, caller: { ...OPEN_ADMITTED, ...caller } });
  }
  return dp.admitCaller(req, record).then((caller) => {
    if (res.destroyed) {
      caller.release(); // the caller left while it was admitted
      return;
    }
    res.once('close', () => caller.release());
    return route.handle({ ...ctx, caller });
  });
}

function fail(dp: DataPlane, res: ServerResponse, record: RequestRecord, err: unknown, face: Face): void {
  const jerr = toJunctionError(err);
  if (jerr.code === 'internal')
    dp.log?.error({ err, requestId: record.requestId, objective: record.objective }, 'internal error');
  record.status = jerr.status;
  record.errorCode = jerr.code;
  writeError(res, jerr, face, record.requestId);
}
