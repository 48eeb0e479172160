// Keys issued through the admin API (SPEC §16) as edits of the config source:
// a client is created, changed, given a new key or revoked by writing the
// latest revision's `clients:` anew, so each change is one revision that diff,
// history and rollback see. Pure: the routes (keys-routes.ts) hand in the
// source and a fresh digest; only digests are ever written.
import { validateConfig } from '../config/load.js';
import { SAFE_ID, SAFE_ID_RULE } from '../config/safe-text.js';
import type { ClientConfig, Config } from '../config/schema.js';
import { ConfigError, JunctionError, type ConfigIssue } from '../errors.js';
import { isObject } from '../call/json-body.js';
import { formatPath } from '../config/issues.js';
import { globMatcher } from '../tenancy/globs.js';

/** What a caller may set on a client (everything but its key digest, which Junction issues). */
export const CLIENT_FIELDS = [
  'objectives',
  'rateLimit',
  'maxConcurrency',
  'priority',
  'tags',
  'budgets',
  'allowOverride',
] as const;

/** Revisions written here have messages that start so (`keys: create search-team`). */
export const KEYS_MESSAGE_PREFIX = 'keys: ';

/** Shown instead of the digest in listings: enough to tell keys apart, nothing to look one up by. */
const DIGEST_PREFIX_CHARS = 12;

type Source = Record<string, unknown>;

export interface KeyEdit {
  source: Source;
  message: string;
  /** Said back to the caller: things that are allowed but probably not meant. */
  warnings: string[];
}

/** A client's settings as served (defaults applied), without its digest. */
export interface ClientView {
  name: string;
  keySha256Prefix: string;
  objectives: string[];
  rateLimit: ClientConfig['rateLimit'] | null;
  maxConcurrency: number | null;
  priority: ClientConfig['priority'];
  tags: Record<string, string>;
  budgets: ClientConfig['budgets'];
  allowOverride: boolean;
  /** `api`: its current key was issued by POST or PATCH /admin/keys; `config`: it came with a config document. */
  issuedBy: 'api' | 'config';
}

export function clientView(name: string, c: ClientConfig, issuedByApi: boolean): ClientView {
  return {
    name,
    keySha256Prefix: c.keySha256.slice(0, DIGEST_PREFIX_CHARS),
    objectives: c.objectives,
    rateLimit: c.rateLimit ?? null,
    maxConcurrency: c.maxConcurrency ?? null,
    priority: c.priority,
    tags: c.tags,
    budgets: c.budgets,
    allowOverride: c.allowOverride,
    issuedBy: issuedByApi ? 'api' : 'config',
  };
}

function invalid(message: string, issues: ConfigIssue[]): JunctionError {
  return new JunctionError(
    'invalid_request',
    `${message}\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`,
    {
      issues,
    },
  );
}

/** Issues of the body's own shape: an object, known fields only, never a digest. */
function bodyIssues(body: unknown, allowed: readonly string[]): { fields: Source; issues: ConfigIssue[] } {
  if (!isObject(body)) return { fields: {}, issues: [{ path: '(root)', message: 'send a JSON object' }] };
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(body)) {
    if (key === 'keySha256')
      issues.push({ path: key, message: 'Junction issues the key and its digest; leave keySha256 out' });
    else if (!allowed.includes(key)) issues.push({ path: key, message: `unknown field; use ${allowed.join(', ')}` });
  }
  return { fields: body, issues };
}

export function checkName(name: unknown): ConfigIssue[] {
  if (typeof name !== 'string') return [{ path: 'name', message: 'give the client a name (a string)' }];
  if (!SAFE_ID.test(name)) return [{ path: 'name', message: `client names are ${SAFE_ID_RULE}` }];
  return [];
}

function clientsOf(source: Source): Source {
  const clients = source.clients;
  return isObject(clients) ? clients : {};
}

/**
 * Validates the whole edited source as any apply would, and says the client's
 * problems in the body's terms (`tags.team`, not `clients.search-team.tags.team`).
 */
function validated(source: Source, name: string, what: string): Config {
  try {
    return validateConfig(source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const own = formatPath(['clients', name]);
    const issues = err.issues.map((i) =>
      i.path === own
        ? { ...i, path: 'name' }
        : i.path.startsWith(`${own}.`)
          ? { ...i, path: i.path.slice(own.length + 1) }
          : i,
    );
    throw invalid(what, issues);
  }
}

function globWarnings(source: Source, objectives: unknown): string[] {
  if (!Array.isArray(objectives) || !isObject(source.objectives)) return [];
  const names = Object.keys(source.objectives);
  return objectives.flatMap((glob, i) =>
    typeof glob === 'string' && !names.some(globMatcher([glob]))
      ? [`objectives[${i}]: "${glob}" matches no objective of the config yet`]
      : [],
  );
}

/** The source with a new client `name` holding `digest`; throws 400 naming the body's paths. */
export function createClient(latest: unknown, body: unknown, digest: string): KeyEdit & { name: string } {
  const { fields, issues } = bodyIssues(body, ['name', ...CLIENT_FIELDS]);
  if (isObject(body)) issues.push(...checkName(fields.name));
  if (issues.length > 0) throw invalid('key not created', issues);
  const name = fields.name as string;
  const source = structuredClone(latest) as Source;
  const clients = clientsOf(source);
  if (name in clients)
    throw invalid('key not created', [
      {
        path: 'name',
        message: `client "${name}" exists; change it with PATCH /admin/keys/${encodeURIComponent(name)} (rotate: true for a new key)`,
      },
    ]);
  // The digest first, so the revision's diff line names it whole (history reads it back: issuedByApi).
  const client: Source = { keySha256: digest, objectives: ['*'] };
  for (const f of CLIENT_FIELDS) if (fields[f] !== undefined) client[f] = fields[f];
  const warnings = globWarnings(source, client.objectives);
  if (Object.keys(clients).length === 0)
    warnings.push(
      'this is the first client: from this revision on every caller needs an API key (auth.anonymous: true serves callers without one)',
    );
  source.clients = { ...clients, [name]: client };
  validated(source, name, 'key not created');
  return { name, source, message: `${KEYS_MESSAGE_PREFIX}create ${name}`, warnings };
}

/**
 * The source with client `name` changed: a field given replaces the one
 * written, `null` removes it (back to its default), `rotate: true` writes
 * `digest` in place of the key's.
 */
export function updateClient(
  latest: unknown,
  name: string,
  body: unknown,
  digest: string,
): KeyEdit & { rotated: boolean } {
  const { fields, issues } = bodyIssues(body, [...CLIENT_FIELDS, 'rotate', 'name']);
  if (fields.rotate !== undefined && typeof fields.rotate !== 'boolean')
    issues.push({ path: 'rotate', message: 'true issues a new key (the old one stops working), or leave it out' });
  if (fields.name !== undefined && fields.name !== name)
    issues.push({
      path: 'name',
      message: 'a client keeps its name; create a new client and revoke this one to rename',
    });
  if (issues.length > 0) throw invalid(`client "${name}" not changed`, issues);
  const source = structuredClone(latest) as Source;
  const clients = clientsOf(source);
  const current = clients[name];
  if (!isObject(current)) throw notFound(name);
  const client: Source = { ...current };
  for (const f of CLIENT_FIELDS) {
    if (!(f in fields)) continue;
    if (fields[f] === null) delete client[f];
    else client[f] = fields[f];
  }
  const rotated = fields.rotate === true;
  if (rotated) client.keySha256 = digest;
  source.clients = { ...clients, [name]: client };
  validated(source, name, `client "${name}" not changed`);
  return {
    source,
    rotated,
    message: describeUpdate(name, fields),
    warnings: 'objectives' in fields ? globWarnings(source, client.objectives) : [],
  };
}

/** The revision message of a PATCH: `keys: rotate search-team`, `keys: update search-team: tags, budgets`. */
export function describeUpdate(name: string, body: unknown): string {
  const fields = isObject(body) ? body : {};
  const what = CLIENT_FIELDS.filter((f) => f in fields).join(', ');
  return (
    KEYS_MESSAGE_PREFIX +
    (fields.rotate === true
      ? `rotate ${name}${what ? ` and update ${what}` : ''}`
      : `update ${name}${what ? `: ${what}` : ''}`)
  );
}

/** The source without client `name`. The last client is never removed: with none, every caller is served without a key. */
export function revokeClient(latest: unknown, name: string): KeyEdit {
  const source = structuredClone(latest) as Source;
  const clients = clientsOf(source);
  if (!(name in clients)) throw notFound(name);
  const rest = { ...clients };
  delete rest[name];
  if (Object.keys(rest).length === 0)
    throw invalid(`client "${name}" not revoked`, [
      {
        path: 'name',
        message:
          `"${name}" is the last client, and with no client Junction serves every caller without a key; ` +
          'create another client first (or apply a config without clients to open the data plane on purpose)',
      },
    ]);
  source.clients = rest;
  return { source, message: `${KEYS_MESSAGE_PREFIX}revoke ${name}`, warnings: [] };
}

export function notFound(name: string): JunctionError {
  return new JunctionError(
    'not_found',
    `no client "${name}" in the latest revision; list them with "junction keys list"`,
  );
}

/**
 * Which of the clients hold a key issued through the admin API: their digest
 * was written (not replaced) by a revision whose message starts with
 * `keys: ` among the given revisions' diffs. A digest is 64 random hex
 * digits, so finding it in a diff is finding where it came from.
 */
export function issuedByApi(
  clients: Readonly<Record<string, ClientConfig>>,
  revisions: ReadonlyArray<{ message: string; diff: string }>,
): Set<string> {
  const keyRevisions = revisions.filter((r) => r.message.startsWith(KEYS_MESSAGE_PREFIX));
  const out = new Set<string>();
  for (const [name, c] of Object.entries(clients)) {
    const d = c.keySha256;
    if (keyRevisions.some((r) => r.diff.includes(d) && !r.diff.includes(`"${d}" →`))) out.add(name);
  }
  return out;
}
