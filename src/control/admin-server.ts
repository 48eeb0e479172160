// The admin API server (SPEC §6, default port 8081): a separate port from the
// data plane so it can be firewalled apart, on node:http like the data plane,
// through the same router and request boundary (http/router.ts,
// http/boundary.ts): nothing a request holds can throw past it.
// Errors are written by the one error writer, in Junction's shape.
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { JunctionError } from '../errors.js';
import type { Logger } from '../call/hooks.js';
import { answerClientErrors, requestBoundary, splitUrl } from '../http/boundary.js';
import { answerError, junctionErrorBody } from '../http/error-reply.js';
import { createListener, type ListenerTls } from '../http/listener.js';
import { Router } from '../http/router.js';
import { RequestIds } from '../observe/request-ids.js';
import type { AdminAuth } from './admin-auth.js';
import { adminOriginCheck } from './admin-origin.js';
import { adminRoutes, type AdminRoute } from './admin-routes.js';
import { consoleFiles } from './console-files.js';
import type { ControlPlane } from './control-plane.js';
import type { RolloutController } from './rollout-controller.js';
import type { FleetTraffic } from './fleet-traffic.js';
import type { ReadoutLogs } from './experiment-results.js';

export interface AdminServerOptions {
  control: ControlPlane;
  auth: AdminAuth;
  log: Logger;
  controller?: RolloutController;
  traffic?: FleetTraffic;
  readouts?: ReadoutLogs | undefined;
  /** This process's spend ledger (GET /admin/spend flushes it first). */
  spend?: { flush(): Promise<void> } | undefined;
  tls?: ListenerTls | undefined;
  /** DNS names the admin API answers for besides IP addresses and localhost (admin-origin.ts). */
  allowedHosts?: readonly string[] | undefined;
}

type Routed = AdminRoute & { methods: readonly string[] };

/** Open connections the admin API holds at most (the oldest idle shed first). */
const ADMIN_MAX_CONNECTIONS = 128;

export function createAdminServer(opts: AdminServerOptions): Server {
  const router = new Router<Routed>(adminRoutes.map((r) => ({ ...r, methods: [r.method] })));
  const ui = consoleFiles();
  const sameOrigin = adminOriginCheck(opts.allowedHosts);
  const ids = new RequestIds();
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    // The data plane's rule: the caller's x-request-id when usable, else a new id.
    const requestId = ids.fromHeader(req.headers['x-request-id']);
    answerError(res, err, { requestId, objective: undefined }, junctionErrorBody, opts.log);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> | void => {
    const { path, query } = splitUrl(req.url);
    // Before anything else, in every mode: no rebinding Host, no other origin, no form-style change.
    sameOrigin(req, path);
    // The console's static files need no token: the page asks for it, and every API call it makes carries it.
    if (ui(req, res, path)) return;
    opts.auth(req);
    const found = router.match(req.method ?? '', path);
    if (found.route === undefined) {
      throw found.allowed.length > 0
        ? new JunctionError('method_not_allowed', `${req.method} is not allowed here; use ${found.allowed.join(', ')}`)
        : new JunctionError('not_found', `no admin route for ${req.method} ${path.slice(0, 200)}`);
    }
    return found.route.handle({
      control: opts.control,
      controller: opts.controller,
      traffic: opts.traffic,
      readouts: opts.readouts,
      spend: opts.spend,
      req,
      res,
      params: found.params,
      query: new URLSearchParams(query),
    });
  };
  const server = createListener(
    opts.tls,
    { requestTimeout: 60_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 },
    requestBoundary(handle, fail, (bug) =>
      opts.log.error({ err: String(bug) }, 'admin API: could not write an error reply'),
    ),
    // Operators and CI, not traffic: a small cap, so a flood of sockets here cannot take descriptors the data plane needs.
    { maxConnections: ADMIN_MAX_CONNECTIONS, firstByteTimeoutMs: 10_000 },
    { name: 'admin API', log: (fields, msg) => opts.log.warn(fields, msg) },
  );
  answerClientErrors(server);
  return server;
}
