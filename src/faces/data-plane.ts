// The data plane server (SPEC §2, default port 8080) on node:http: the fewest
// hops from socket to upstream. Routes come from one file per face.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { OPEN_ADMITTED } from '../call/hooks.js';
import { JunctionError } from '../errors.js';
import { finishRequest, newRecord, type RequestRecord } from '../observe/record.js';
import { RequestIds } from '../observe/request-ids.js';
import type { BodyLimitOptions } from '../call/body.js';
import type { Telemetry } from '../observe/telemetry.js';
import { answerError } from '../http/error-reply.js';
import { Router } from '../http/router.js';
import { answerClientErrors, answerExpectContinue, requestBoundary, splitUrl } from '../http/boundary.js';
import { createListener, type ListenerTls } from '../http/listener.js';
import { FACES } from './index.js';
import { junctionFace } from './objectives.js';
import { decideRoutes } from './decide-api.js';
import { exposureRoutes } from './exposures.js';
import { snapshotRoutes } from './snapshot.js';
import { healthRoutes } from './health.js';
import type { DataPlane, Face, Route, RouteContext } from './types.js';

// The data plane's shapes (faces/types.ts), re-exported for the code that names them here.
export type { AdmittedCaller, Admission, Caller, DataPlane, Logger } from './types.js';

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
    ...FACES.flatMap((face) => face.routes()),
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
    (req, res, err) => fail(dp, res, recordOf(req, ids), err, junctionFace),
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
    res.on('close', () => finishRequest(dp.observers, record, res, performance.now(), dp.log));
  }

  const found = router.match(req.method ?? '', path);
  if (found.route === undefined) {
    const err =
      found.allowed.length > 0
        ? new JunctionError('method_not_allowed', `${req.method} is not allowed here; use ${found.allowed.join(', ')}`)
        : new JunctionError('not_found', `no route for ${req.method} ${path.slice(0, 200)}`);
    fail(dp, res, record, err, found.near?.face ?? junctionFace);
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
  answerError(res, err, record, face.errorBody, dp.log);
}
