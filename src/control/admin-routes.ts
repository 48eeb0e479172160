// The admin API's routes (SPEC §6), each a thin adapter from HTTP to the
// control plane. Bodies are small documents, read whole.
import type { IncomingMessage } from 'node:http';
import { MAX_CONFIG_BYTES, readAdminBody } from './admin-body.js';
import { loadConfigText, parseConfigText } from '../config/load.js';
import { armLabel, type Config, type TargetUse } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { isObject } from '../call/json-body.js';
import { writeJson } from '../http/reply.js';
import { consoleRoutes } from './console-routes.js';
import { experimentResultsRoute } from './experiment-results.js';
import { spendRoutes } from './spend-routes.js';
import { keysRoutes } from './keys-routes.js';
import { budgetsRoutes } from './budgets-routes.js';
import { previewRoute } from './preview-routes.js';
import { acknowledgedParam, refuseUnacknowledgedBreaks } from './preview-guard.js';
import type { AdminContext, AdminRoute } from './admin-route.js';

export type { AdminContext, AdminRoute };
import { modelsOf } from './model-usage.js';
import {
  applyRolloutAction,
  isRolloutAction,
  promotedBalance,
  type RolloutAction,
  type RolloutOptions,
} from './rollout-actions.js';
import { guardApply, guardStart, rolloutAnswer } from './rollout-guard.js';
import type { RevisionNotes } from './store.js';

const DEFAULT_AUTHOR = 'admin-api';
/** Longest `GET /admin/config?wait=` holds: under the admin server's 60 s request timeout. */
const MAX_CONFIG_WAIT_SECONDS = 55;

/** The body as a config document (YAML or JSON: JSON is YAML), with the text it was parsed from. */
async function readDocument(req: IncomingMessage, required: boolean): Promise<{ source: unknown; text: string }> {
  const raw = await readAdminBody(req, MAX_CONFIG_BYTES);
  if (raw.length === 0) {
    if (required) throw new JunctionError('invalid_request', 'send the config as the request body (YAML or JSON)');
    return { source: undefined, text: '' };
  }
  const text = raw.toString('utf8');
  return { source: parseConfigText(text, 'body'), text }; // a ConfigError answers 400 with its issues (errors.ts)
}

/**
 * The body as a config, refused (400) with every problem at once, each placed at its line and
 * column of the body: the report `junction validate` prints and the console's editor shows.
 */
async function readConfig(req: IncomingMessage): Promise<{ source: unknown; text: string; config: Config }> {
  const raw = await readAdminBody(req, MAX_CONFIG_BYTES);
  if (raw.length === 0)
    throw new JunctionError('invalid_request', 'send the config as the request body (YAML or JSON)');
  const text = raw.toString('utf8');
  return { ...loadConfigText(text, 'body'), text };
}

/** `?force=reason`: why a refused change is applied anyway (a blank reason is none). */
function forceParam(query: URLSearchParams): string | undefined {
  const reason = query.get('force')?.trim();
  return reason === undefined || reason === '' ? undefined : reason;
}

function author(ctx: AdminContext): string {
  return ctx.query.get('author') || DEFAULT_AUTHOR;
}

function revisionParam(ctx: AdminContext): number {
  const n = Number(ctx.params.n);
  if (!Number.isInteger(n) || n < 1)
    throw new JunctionError('invalid_request', `revision must be a positive integer (got "${ctx.params.n}")`);
  return n;
}

/** `{"force": "why"}`: the reason a refused start goes ahead anyway (start only; the revision records it). */
function forceReason(body: unknown, action: RolloutAction): string | undefined {
  if (!isObject(body) || body.force === undefined) return undefined;
  if (typeof body.force !== 'string' || body.force.trim() === '')
    throw new JunctionError('invalid_request', 'force takes the reason as text: {"force": "why it must start anyway"}');
  if (action !== 'start') throw new JunctionError('invalid_request', `force applies to start only, not ${action}`);
  return body.force.trim();
}

export const adminRoutes: AdminRoute[] = [
  experimentResultsRoute,
  {
    method: 'GET',
    pattern: '/admin/config',
    async handle({ control, res, query }) {
      // `?after=N&wait=S`: held until a revision above N is live or S seconds pass, then the live one as
      // usual (`junction export nginx --admin … --watch` follows revisions with the admin token alone).
      const after = query.get('after');
      if (after !== null) {
        const n = Number(after);
        const wait = Number(query.get('wait') ?? '0');
        if (!Number.isInteger(n) || n < 0 || !Number.isFinite(wait) || wait < 0)
          throw new JunctionError('invalid_request', 'after must be a revision number and wait a number of seconds');
        const hangUp = new AbortController();
        res.once('close', () => hangUp.abort());
        await control.runtime.nextRevision(n, Math.min(wait, MAX_CONFIG_WAIT_SECONDS) * 1000, hangUp.signal);
        if (res.destroyed) return;
      }
      const live = control.runtime.current;
      if (!live) throw new JunctionError('not_ready', 'no config loaded yet; apply one first: junction apply FILE');
      const stored = await control.store.get(live.number);
      writeJson(res, 200, {
        revision: live.number,
        author: stored?.author ?? null,
        createdAt: stored?.createdAt ?? null,
        message: stored?.message ?? null,
        config: live.meta.source,
        /** The YAML or JSON as submitted (comments, order), when the revision came as text; else null. */
        text: stored?.text ?? null,
      });
    },
  },
  {
    method: 'PUT',
    pattern: '/admin/config',
    async handle(ctx) {
      const { source, text, config } = await readConfig(ctx.req);
      if (ctx.query.get('dryRun') === 'true') {
        const { diff, revision } = await ctx.control.dryRun(source);
        writeJson(ctx.res, 200, { valid: true, dryRun: true, revision, diff });
        return;
      }
      // A change that moves exposed units of an experiment needs it named in ?acknowledge= (SPEC §18).
      const acknowledged = acknowledgedParam(ctx.query);
      // A rollout this config starts is judged as `rollout start` judges it; ?force=reason overrides, recorded.
      const force = forceParam(ctx.query);
      const forced = guardApply(ctx.control.runtime.current?.config, config, force).length > 0 ? force : undefined;
      await refuseUnacknowledgedBreaks(ctx, source, acknowledged);
      const result = await ctx.control.apply({
        source,
        text,
        author: author(ctx),
        message: ctx.query.get('message') ?? '',
        onlyIfChanged: true,
        notes: { ...(acknowledged.length > 0 ? { acknowledged } : {}), ...(forced !== undefined ? { forced } : {}) },
      });
      writeJson(ctx.res, 200, result);
    },
  },
  {
    method: 'GET',
    pattern: '/admin/revisions',
    async handle({ control, res, query }) {
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 1000);
      writeJson(res, 200, { live: control.liveNumber, revisions: await control.store.list(limit) });
    },
  },
  {
    method: 'GET',
    pattern: '/admin/revisions/:n',
    async handle(ctx) {
      const n = revisionParam(ctx);
      const rev = await ctx.control.store.get(n);
      if (!rev) throw new JunctionError('not_found', `no revision ${n}; list them with "junction revisions"`);
      writeJson(ctx.res, 200, { ...rev, live: rev.number === ctx.control.liveNumber });
    },
  },
  {
    method: 'POST',
    pattern: '/admin/revisions/:n/rollback',
    async handle(ctx) {
      const { source: body } = await readDocument(ctx.req, false);
      const message =
        isObject(body) && typeof body.message === 'string' ? body.message : (ctx.query.get('message') ?? undefined);
      writeJson(ctx.res, 200, await ctx.control.rollback(revisionParam(ctx), author(ctx), message));
    },
  },
  {
    method: 'GET',
    pattern: '/admin/models',
    async handle({ control, res }) {
      const live = control.runtime.current;
      if (!live) throw new JunctionError('not_ready', 'no config loaded yet; apply one first: junction apply FILE');
      writeJson(res, 200, { revision: live.number, models: modelsOf(live) });
    },
  },
  {
    method: 'GET',
    pattern: '/admin/objectives/:objective/rollout',
    async handle({ control, controller, res, params }) {
      const live = control.runtime.current;
      const o = live?.config.objectives[params.objective!];
      if (!live || !o)
        throw new JunctionError('objective_not_found', `no objective "${params.objective}" in the live config`, {
          objective: params.objective,
        });
      const arm = o.rollout ? armLabel(o.rollout.candidate) : undefined;
      const controllerView = arm !== undefined ? (controller?.lastJudgement(params.objective!, arm) ?? null) : null;
      const gates = arm !== undefined ? (controller?.lastWindow(params.objective!, arm) ?? null) : null;
      writeJson(res, 200, {
        objective: params.objective,
        revision: live.number,
        default: o.default,
        rollout: rolloutAnswer(params.objective!, o),
        controller: controllerView,
        gates,
      });
    },
  },
  {
    method: 'POST',
    pattern: '/admin/objectives/:objective/rollout/:action',
    async handle(ctx) {
      const { objective, action } = ctx.params as { objective: string; action: string };
      if (!isRolloutAction(action)) {
        throw new JunctionError(
          'not_found',
          `unknown rollout action "${action}"; use start, pause, resume, promote or abort`,
        );
      }
      const { source: body } = await readDocument(ctx.req, false);
      const opts: RolloutOptions = {};
      if (isObject(body)) {
        // A target, or { target, balance } (a balancer as the rollout's arm); validation judges either.
        if (body.candidate !== undefined)
          opts.candidate =
            typeof body.candidate === 'string' || isObject(body.candidate)
              ? (body.candidate as TargetUse)
              : JSON.stringify(body.candidate);
        if (Array.isArray(body.steps)) opts.steps = body.steps.map(Number);
        if (isObject(body.gates)) opts.gates = body.gates;
      }
      const force = forceReason(body, action);
      // Whether the reason overrides anything, judged on the live config for the message; the edit judges the latest again.
      const live = ctx.control.runtime.current?.meta.source;
      const overrides =
        force !== undefined &&
        live !== undefined &&
        guardStart(applyRolloutAction(live, objective, action, opts), objective, force).length > 0;
      const promoted =
        action === 'promote' ? promotedBalance(ctx.control.runtime.current?.meta.source, objective) : undefined;
      const message =
        (isObject(body) && typeof body.message === 'string' ? body.message : undefined) ??
        `rollout ${action} on ${objective}` +
          (promoted === undefined
            ? ''
            : `: default ${promoted.target}, balance ${promoted.balance} on its backend` +
              (promoted.alsoObjectives.length > 0 ? ` (also used by ${promoted.alsoObjectives.join(', ')})` : '')) +
          (overrides ? ` (forced: ${force})` : '');
      // Filled in by the edit (judged on the latest config, again on each retry): the reason is recorded only when it overrode a refusal.
      const notes: RevisionNotes = {};
      const result = await ctx.control.edit({
        edit: (latest) => {
          const doc = applyRolloutAction(latest, objective, action, opts);
          notes.forced = action === 'start' && guardStart(doc, objective, force).length > 0 ? force : undefined;
          return doc;
        },
        author: author(ctx),
        message,
        notes,
      });
      const o = ctx.control.runtime.current?.config.objectives[objective];
      writeJson(ctx.res, 200, {
        ...result,
        objective,
        default: o?.default,
        rollout: o === undefined ? null : rolloutAnswer(objective, o),
        ...(notes.forced === undefined ? {} : { forced: notes.forced }),
      });
    },
  },
  ...consoleRoutes,
  ...spendRoutes,
  ...keysRoutes,
  ...budgetsRoutes,
  previewRoute,
];
