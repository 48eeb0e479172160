// The admin API server (SPEC §6, default port 8081): a separate port from the
// data plane so it can be firewalled apart, on node:http like the data plane.
// Errors are written by the one error writer, in Junction's shape.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { JunctionError, toJunctionError } from '../errors.js';
import type { Logger } from '../call/hooks.js';
import { writeError } from '../faces/error-reply.js';
import { compilePattern, type Matcher } from '../faces/route.js';
import type { AdminAuth } from './admin-auth.js';
import { adminRoutes, type AdminRoute } from './admin-routes.js';
import type { ControlPlane } from './control-plane.js';
import type { RolloutController } from './rollout-controller.js';

export interface AdminServerOptions {
  control: ControlPlane;
  auth: AdminAuth;
  log: Logger;
  controller?: RolloutController;
}

export function createAdminServer(opts: AdminServerOptions): Server {
  const routes: Array<AdminRoute & { match: Matcher }> = adminRoutes.map((r) => ({ ...r, match: compilePattern(r.pattern) }));
  return createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, (req, res) => {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://admin');
    const segments = url.pathname.split('/').slice(1);
    const fail = (err: unknown) => {
      const e = toJunctionError(err);
      if (e.code === 'internal') opts.log.error({ err: String(err), requestId }, 'admin API internal error');
      writeError(res, e, 'junction', requestId);
    };
    try {
      opts.auth(req);
      let allowed: string[] | undefined;
      for (const route of routes) {
        const params = route.match(segments);
        if (!params) continue;
        if (route.method !== req.method) {
          (allowed ??= []).push(route.method);
          continue;
        }
        route.handle({ control: opts.control, controller: opts.controller, req, res, params, query: url.searchParams }).catch(fail);
        return;
      }
      throw allowed
        ? new JunctionError('method_not_allowed', `${req.method} is not allowed here; use ${allowed.join(', ')}`)
        : new JunctionError('not_found', `no admin route for ${req.method} ${url.pathname}`);
    } catch (err) {
      fail(err);
    }
  });
}
