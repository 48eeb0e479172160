// Keys issued by API (SPEC §16): POST/GET/PATCH/DELETE /admin/keys. Each
// change is one revision, computed from the latest stored one and stored
// compare-and-set (ControlPlane.edit), so two callers on two replicas never
// undo each other. The key is made here, answered once, and forgotten: only
// its digest reaches the config, the store, the diff and the logs.
import type { IncomingMessage } from 'node:http';
import { readAdminBody } from './admin-body.js';
import { isObject } from '../call/json-body.js';
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import { keyDigest, newKey } from '../tenancy/keys.js';
import type { AdminContext, AdminRoute } from './admin-route.js';
import {
  clientView,
  createClient,
  describeUpdate,
  issuedByApi,
  KEYS_MESSAGE_PREFIX,
  notFound,
  revokeClient,
  updateClient,
} from './key-changes.js';

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_AUTHOR = 'admin-api';
/** How far back `issuedBy` looks for the revision that wrote a client's key. */
const HISTORY_REVISIONS = 1000;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readAdminBody(req, MAX_BODY_BYTES);
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new JunctionError('invalid_request', 'the body is not JSON; send a JSON object', {
      issues: [{ path: '(root)', message: 'not JSON' }],
    });
  }
}

function author(ctx: AdminContext): string {
  return ctx.query.get('author') || DEFAULT_AUTHOR;
}

function live(ctx: AdminContext) {
  const current = ctx.control.runtime.current;
  if (!current) throw new JunctionError('not_ready', 'no config loaded yet; apply one first: junction apply FILE');
  return current;
}

/** The live revision's clients as views, with where each one's key came from. */
async function views(ctx: AdminContext, only?: string) {
  const rev = live(ctx);
  const clients = rev.config.clients;
  const names = only === undefined ? Object.keys(clients).sort() : [only];
  if (only !== undefined && !(only in clients)) throw notFound(only);
  const fromApi = issuedByApi(clients, await ctx.control.store.list(HISTORY_REVISIONS));
  return { revision: rev.number, clients: names.map((n) => clientView(n, clients[n]!, fromApi.has(n))) };
}

/** The client as this process now serves it (after the change this request made), null when gone. */
async function settings(ctx: AdminContext, name: string) {
  if (ctx.control.runtime.current?.config.clients[name] === undefined) return null;
  return (await views(ctx, name)).clients[0]!;
}

export const keysRoutes: AdminRoute[] = [
  {
    method: 'POST',
    pattern: '/admin/keys',
    async handle(ctx) {
      const body = await readJson(ctx.req);
      const key = newKey();
      const digest = keyDigest(key);
      let made: { name: string; warnings: string[] } | undefined;
      const result = await ctx.control.edit({
        edit: (latest) => {
          const e = createClient(latest, body, digest);
          made = e;
          return e.source;
        },
        author: author(ctx),
        message: `${KEYS_MESSAGE_PREFIX}create ${isObject(body) ? String(body.name) : ''}`,
      });
      const name = made!.name;
      writeJson(ctx.res, 201, {
        client: name,
        key,
        keySha256: digest,
        revision: result.revision,
        diff: result.diff,
        settings: await settings(ctx, name),
        warnings: made!.warnings,
      });
    },
  },
  {
    method: 'GET',
    pattern: '/admin/keys',
    async handle(ctx) {
      writeJson(ctx.res, 200, await views(ctx));
    },
  },
  {
    method: 'GET',
    pattern: '/admin/keys/:name',
    async handle(ctx) {
      const { revision, clients } = await views(ctx, ctx.params.name);
      writeJson(ctx.res, 200, { revision, ...clients[0]! });
    },
  },
  {
    method: 'PATCH',
    pattern: '/admin/keys/:name',
    async handle(ctx) {
      const name = ctx.params.name!;
      const body = await readJson(ctx.req);
      const key = newKey();
      const digest = keyDigest(key);
      let made: { rotated: boolean; warnings: string[] } | undefined;
      const result = await ctx.control.edit({
        edit: (latest) => {
          const e = updateClient(latest, name, body, digest);
          made = e;
          return e.source;
        },
        author: author(ctx),
        message: describeUpdate(name, body),
        onlyIfChanged: true,
      });
      writeJson(ctx.res, 200, {
        client: name,
        ...(made!.rotated ? { key, keySha256: digest } : {}),
        revision: result.revision,
        unchanged: result.unchanged,
        diff: result.diff,
        settings: await settings(ctx, name),
        warnings: made!.warnings,
      });
    },
  },
  {
    method: 'DELETE',
    pattern: '/admin/keys/:name',
    async handle(ctx) {
      const name = ctx.params.name!;
      const result = await ctx.control.edit({
        edit: (latest) => revokeClient(latest, name).source,
        author: author(ctx),
        message: `${KEYS_MESSAGE_PREFIX}revoke ${name}`,
      });
      writeJson(ctx.res, 200, { client: name, revoked: true, revision: result.revision, diff: result.diff });
    },
  },
];
