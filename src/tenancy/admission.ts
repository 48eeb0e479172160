// Admission of one request to one objective: who is calling (API key → client),
// may they call it (objective globs), are they within their rate limit and
// their concurrency cap. Plugs into the data plane's `admit` hook; refusals are
// JunctionErrors (401, 403, 429 with Retry-After, 503). The record gets the
// client's name, never its key. `authenticate` is the key check alone, for
// what must be refused before any body is read or anything is disclosed.
// `admitCaller` admits a request to a route that invokes no objective (decide,
// exposures, feedback, snapshot, explain, /metrics) by the same limits: the key,
// one unit of rate (more for a batch's items, taken once they are counted) and
// a concurrency slot held until the response closes. Token limits (tpm) are
// reserved and settled in token-limits.ts; spend budgets are checked in
// budgets.ts (and counted by its observer).
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import {
  OPEN_ADMITTED,
  OPEN_CALLER,
  type AdmitAsk,
  type AdmittedCaller,
  type Admission,
  type Caller,
} from '../call/hooks.js';
import type { RequestRecord } from '../observe/record.js';
import { NO_TELEMETRY, type RejectionReason, type Telemetry } from '../observe/telemetry.js';
import type { CompiledObjective } from '../routing/types.js';
import { ClientRegistry, type Client, type ClientIndex } from './clients.js';
import { bearerKey, keyDigest } from './keys.js';
import { scopeFor } from './override-scope.js';
import type { RateLimiter } from './rate-limits.js';
import { burstOf, type RateLimit } from './token-bucket.js';
import { TokenLimits, type TokenReservation } from './token-limits.js';
import { LocalTokenLimiter, type TokenLimiter } from './token-limiter.js';
import type { BudgetCheck, Budgets } from './budgets.js';

export type Admit = (
  req: { headers: IncomingHttpHeaders },
  objective: CompiledObjective,
  record: RequestRecord,
  /** The call's operation and, when a face read it first, its body: token limits reserve from them. */
  ask?: AdmitAsk,
) => Admission | undefined | Promise<Admission | undefined>;
export type Authenticate = (req: { headers: IncomingHttpHeaders }) => Caller;
/** Throws 401, 429 or 503 as `admit` does; the key is checked synchronously, before the first await. */
export type AdmitCaller = (req: { headers: IncomingHttpHeaders }, record: RequestRecord) => Promise<AdmittedCaller>;

export interface Tenancy {
  admit: Admit;
  authenticate: Authenticate;
  admitCaller: AdmitCaller;
}

export function createTenancy(
  currentConfig: () => Config | undefined,
  limiter: RateLimiter,
  telemetry: Telemetry = NO_TELEMETRY,
  tokenLimiter: TokenLimiter = new LocalTokenLimiter(),
  budgets?: Budgets,
): Tenancy {
  const registry = new ClientRegistry();
  const tokens = new TokenLimits(tokenLimiter, telemetry);
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
        'missing API key: send "authorization: Bearer <key>" (or "x-api-key: <key>")',
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

  const admit: Admit = (req, o, record, ask) => {
    const config = currentConfig();
    if (config === undefined) return undefined;
    const index = registry.indexFor(config);
    const client = index.authOn ? identify(req, index, o.name) : undefined;
    if (client === undefined) {
      // No client (auth off, or anonymous): the objective's own token limit may still apply.
      const open = index.openAdmission(o.interface);
      const reserved = tokens.reserve(undefined, o, req.headers, ask, record);
      return reserved === undefined ? open : reserved.then((r) => withTokens(open, r));
    }
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
    const reserve = () =>
      tokens.reserve({ name: client.name, tpm: client.config.rateLimit?.tpm }, o, req.headers, ask, record);
    const checkBudgets = () => budgets?.check(config, client.name, o.name, o.interface === 'openai', record);
    return admitClient(client, o, limiter, telemetry, reserve, checkBudgets);
  };

  const admitCaller: AdmitCaller = async (req, record) => {
    const config = currentConfig();
    if (config === undefined) return OPEN_ADMITTED;
    const index = registry.indexFor(config);
    if (!index.authOn) return OPEN_ADMITTED;
    const client = identify(req, index, '');
    if (client === undefined) return OPEN_ADMITTED; // anonymous: no client, no client limits (as on invoke)
    record.client = client.name;
    await takeRate(client, 1, '', limiter, telemetry);
    const slot = await acquireSlot(client, '', telemetry);
    let held = slot !== undefined;
    return {
      client: client.name,
      mayCall: client.mayCall,
      // The call took one unit already: `units` more make a call of units + 1, which must fit in the burst.
      take: (units) => (units > 0 ? takeRate(client, units, '', limiter, telemetry, units + 1) : undefined),
      release: () => {
        if (held) slot!();
        held = false;
      },
    };
  };
  return { admit, authenticate, admitCaller };
}

/** Takes `units` of the client's rate or throws 429 (no Retry-After when they can never fit: more than the burst). */
async function takeRate(
  client: Client,
  units: number,
  objective: string,
  limiter: RateLimiter,
  telemetry: Telemetry,
  /** The whole call's units (what it took before, and these): more than the burst never fits, whenever it is sent. */
  callUnits = units,
): Promise<void> {
  const limit = client.config.rateLimit;
  // A client limited by tokens per minute alone takes no request units (its tokens are reserved apart).
  if (!hasRps(limit)) return;
  const never = callUnits > burstOf(limit);
  const d = never ? undefined : await limiter.take(client.name, limit, units);
  if (d?.allowed === true) return;
  if (d === undefined || !Number.isFinite(d.retryAfterSeconds)) {
    throw refuse(
      telemetry,
      objective,
      client.name,
      'rate_limited',
      `client "${client.name}" may take at most ${burstOf(limit)} units of its rate at once (its burst); this call needs ${callUnits}: send smaller batches`,
    );
  }
  throw refuse(
    telemetry,
    objective,
    client.name,
    'rate_limited',
    units === 1
      ? `client "${client.name}" is over its rate limit (${limit.rps}/s)`
      : `client "${client.name}" is over its rate limit (${limit.rps}/s): this call's ${units} more items do not fit`,
    d.retryAfterSeconds,
  );
}

/** One of the client's concurrency slots (undefined: no cap), or 503 overloaded. */
async function acquireSlot(client: Client, objective: string, telemetry: Telemetry): Promise<(() => void) | undefined> {
  if (client.slots === undefined) return undefined;
  try {
    return await client.slots.acquire('default');
  } catch (err) {
    if (objective !== '') telemetry.rejection(objective, client.name, 'overloaded');
    throw new JunctionError('overloaded', (err as Error).message, {
      objective: objective === '' ? undefined : objective,
    });
  }
}

async function admitClient(
  client: Client,
  o: CompiledObjective,
  limiter: RateLimiter,
  telemetry: Telemetry,
  reserveTokens: () => Promise<TokenReservation> | undefined,
  checkBudgets: () => BudgetCheck | Promise<BudgetCheck> | undefined,
): Promise<Admission> {
  await takeRate(client, 1, o.name, limiter, telemetry);
  const checked = checkBudgets();
  const budget = checked instanceof Promise ? await checked : checked; // no tick when the counters are known
  const reserved = await reserveTokens();
  let release: (() => void) | undefined;
  try {
    release = await acquireSlot(client, o.name, telemetry);
  } catch (err) {
    reserved?.end(); // nothing was sent: the tokens go back
    throw err;
  }
  return withTokens(
    {
      mayOverride: client.config.allowOverride,
      priority: client.config.priority,
      client: client.name,
      release,
      overrideTargets: scopeFor(client.overrides, o.interface),
      budgetWarning: budget?.warning,
    },
    reserved,
  );
}

/** The admission with its token reservation: reported to the face, settled when the response closes. */
function withTokens(a: Admission, reserved: TokenReservation | undefined): Admission {
  if (reserved === undefined) return a;
  const release = a.release;
  return {
    ...a,
    tokens: reserved.state,
    release:
      release === undefined
        ? reserved.end
        : () => {
            release();
            reserved.end();
          },
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

/** A client's rate limit that limits requests (the config's own object: no copy per call). */
function hasRps(limit: { rps?: number | undefined; burst?: number | undefined } | undefined): limit is RateLimit {
  return limit?.rps !== undefined;
}
