// Admission of one request to one objective: who is calling (API key → client),
// may they call it (objective globs), are they within their rate limit and
// their concurrency cap. Plugs into the data plane's `admit` hook; refusals are
// JunctionErrors (401, 403, 429 with Retry-After, 503). The record gets the
// client's name, never its key.
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import type { Admission } from '../call/hooks.js';
import type { RequestRecord } from '../observe/record.js';
import { NO_TELEMETRY, type RejectionReason, type Telemetry } from '../observe/telemetry.js';
import type { CompiledObjective } from '../routing/types.js';
import { ClientRegistry, type Client } from './clients.js';
import { bearerKey, keyDigest } from './keys.js';
import type { RateLimiter } from './rate-limits.js';

export type Admit = (req: IncomingMessage, objective: CompiledObjective, record: RequestRecord) => Admission | undefined | Promise<Admission | undefined>;

export function createAdmission(
  currentConfig: () => Config | undefined, limiter: RateLimiter, telemetry: Telemetry = NO_TELEMETRY,
): Admit {
  const registry = new ClientRegistry();
  return (req, o, record) => {
    const config = currentConfig();
    if (config === undefined) return undefined;
    const index = registry.indexFor(config);
    if (!index.authOn) return undefined;
    const key = bearerKey(req.headers);
    if (key === undefined) {
      if (index.anonymous) return undefined;
      throw refuse(telemetry, o, 'anonymous', 'unauthorized', 'missing API key: send "authorization: Bearer <key>"');
    }
    const client = index.byDigest.get(keyDigest(key));
    if (client === undefined) throw refuse(telemetry, o, 'anonymous', 'unauthorized', 'unknown API key');
    record.client = client.name;
    if (!client.mayCall(o.name)) {
      throw refuse(telemetry, o, client.name, 'forbidden', `client "${client.name}" may not call objective "${o.name}"`);
    }
    return admitClient(client, o, limiter, telemetry);
  };
}

async function admitClient(client: Client, o: CompiledObjective, limiter: RateLimiter, telemetry: Telemetry): Promise<Admission> {
  const limit = client.config.rateLimit;
  if (limit !== undefined) {
    const d = await limiter.take(client.name, limit);
    if (!d.allowed) {
      throw refuse(telemetry, o, client.name, 'rate_limited', `client "${client.name}" is over its rate limit (${limit.rps}/s)`, d.retryAfterSeconds);
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
  return { mayOverride: client.config.allowOverride, priority: client.config.priority, client: client.name, release };
}

function refuse(
  telemetry: Telemetry, o: CompiledObjective, client: string, code: RejectionReason & JunctionError['code'], message: string, retryAfterSeconds?: number,
): JunctionError {
  telemetry.rejection(o.name, client, code);
  return new JunctionError(code, message, { objective: o.name, retryAfterSeconds });
}
