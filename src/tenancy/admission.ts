// Admission of one request to one objective: who is calling (API key → client),
// may they call it (objective globs), are they within their rate limit and
// their concurrency cap. Plugs into the data plane's `admit` hook; refusals are
// JunctionErrors (401, 403, 429 with Retry-After, 503). The record gets the
// client's name, never its key. `authenticate` is the key check alone, for
// what must be refused before any body is read or anything is disclosed.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { OPEN_CALLER, type Admission, type Caller } from '../call/hooks.js';
import type { RequestRecord } from '../observe/record.js';
import { NO_TELEMETRY, type RejectionReason, type Telemetry } from '../observe/telemetry.js';
import type { CompiledObjective } from '../routing/types.js';
import { ClientRegistry, type Client, type ClientIndex } from './clients.js';
import { bearerKey, keyDigest } from './keys.js';
import { scopeFor } from './override-scope.js';
import type { RateLimiter } from './rate-limits.js';

export type Admit = (
  req: { headers: IncomingHttpHeaders },
  objective: CompiledObjective,
  record: RequestRecord,
) => Admission | undefined | Promise<Admission | undefined>;
export type Authenticate = (req: { headers: IncomingHttpHeaders }) => Caller;

export interface Tenancy {
  admit: Admit;
  authenticate: Authenticate;
}

export function createTenancy(
  currentConfig: () => Config | undefined,
  limiter: RateLimiter,
  telemetry: Telemetry = NO_TELEMETRY,
): Tenancy {
  const registry = new ClientRegistry();
  /** The caller's client, undefined for an anonymous caller; throws 401 for a missing or unknown key when auth is on. */
  const identify = (
    req: { headers: IncomingHttpHeaders },
    index: ClientIndex,
    refusing: string,
  ): Client | undefined => {
    const key = bearerKey(req.headers);
    if (key === undefined) {
      if (index.anonymous) return undefined;
      throw refuse(
        telemetry,
        refusing,
        'anonymous',
        'unauthorized',
        'missing API key: send "authorization: Bearer <key>"',
      );
    }
    const client = index.byDigest.get(keyDigest(key));
    if (client === undefined) throw refuse(telemetry, refusing, 'anonymous', 'unauthorized', 'unknown API key');
    return client;
  };

  const authenticate: Authenticate = (req) => {
    const config = currentConfig();
    if (config === undefined) return OPEN_CALLER;
    const index = registry.indexFor(config);
    if (!index.authOn) return OPEN_CALLER;
    const client = identify(req, index, '');
    return client === undefined ? OPEN_CALLER : { client: client.name, mayCall: client.mayCall };
  };

  const admit: Admit = (req, o, record) => {
    const config = currentConfig();
    if (config === undefined) return undefined;
    const index = registry.indexFor(config);
    if (!index.authOn) return index.openAdmission(o.interface);
    const client = identify(req, index, o.name);
    if (client === undefined) return index.openAdmission(o.interface);
    record.client = client.name;
    if (!client.mayCall(o.name)) {
      throw refuse(
        telemetry,
        o.name,
        client.name,
        'forbidden',
        `client "${client.name}" may not call objective "${o.name}"`,
      );
    }
    return admitClient(client, o, limiter, telemetry);
  };
  return { admit, authenticate };
}

async function admitClient(
  client: Client,
  o: CompiledObjective,
  limiter: RateLimiter,
  telemetry: Telemetry,
): Promise<Admission> {
  const limit = client.config.rateLimit;
  if (limit !== undefined) {
    const d = await limiter.take(client.name, limit);
    if (!d.allowed) {
      throw refuse(
        telemetry,
        o.name,
        client.name,
        'rate_limited',
        `client "${client.name}" is over its rate limit (${limit.rps}/s)`,
        d.retryAfterSeconds,
      );
    }
  }
  let release: (() => void) | undefined;
  if (client.slots !== undefined) {
    try {
      release = await client.slots.acquire('default');
    } catch (err) {
      telemetry.rejection(o.name, client.name, 'overloaded');
      throw new JunctionError('overloaded', (err as Error).message, { objective: o.name });
    }
  }
  return {
    mayOverride: client.config.allowOverride,
    priority: client.config.priority,
    client: client.name,
    release,
    overrideTargets: scopeFor(client.overrides, o.interface),
  };
}

/** `objective` is '' when the key is checked before any objective is known. */
function refuse(
  telemetry: Telemetry,
  objective: string,
  client: string,
  code: RejectionReason & JunctionError['code'],
  message: string,
  retryAfterSeconds?: number,
): JunctionError {
  if (objective !== '') telemetry.rejection(objective, client, code);
  return new JunctionError(code, message, { objective: objective === '' ? undefined : objective, retryAfterSeconds });
}
