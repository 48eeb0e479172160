// `junction keys …`. `new` is offline: it prints a key once and the SHA-256
// digest that goes in a config file; Junction never stores the key. The rest
// talk to a running Junction's admin API (/admin/keys): `create`, `update`,
// `rotate` and `revoke` each write one revision; `list` and `show` read.
import { parseArgs } from 'node:util';
import { keyDigest, newKey } from '../tenancy/keys.js';
import { ADMIN_OPTIONS, adminCall, adminTarget, printJson, whoAmI } from './admin-client.js';
import { UserError } from './user-error.js';

const USAGE =
  'usage: junction keys new [--name CLIENT] [--json]\n' +
  '       junction keys create|update NAME [--objectives a,b] [--rps N] [--burst N] [--tpm N] [--tag k=v …]\n' +
  '                 [--priority critical|default|sheddable] [--max-concurrency N] [--allow-override] [--admin URL] [--json]\n' +
  '       junction keys list|show NAME|rotate NAME|revoke NAME [--admin URL] [--json]';

interface ClientView {
  name: string;
  keySha256Prefix: string;
  objectives: string[];
  rateLimit: { rps?: number; burst?: number; tpm?: number } | null;
  maxConcurrency: number | null;
  priority: string;
  tags: Record<string, string>;
  budgets: Array<{ per: string; max: number; unit: string }>;
  allowOverride: boolean;
  issuedBy: 'api' | 'config';
}

interface KeyAnswer {
  client: string;
  key?: string;
  keySha256?: string;
  revision: number;
  unchanged?: boolean;
  diff: string[];
  settings?: ClientView | null;
  warnings?: string[];
}

const SETTINGS_OPTIONS = {
  objectives: { type: 'string' },
  rps: { type: 'string' },
  burst: { type: 'string' },
  tpm: { type: 'string' },
  tag: { type: 'string', multiple: true },
  priority: { type: 'string' },
  'max-concurrency': { type: 'string' },
  'allow-override': { type: 'boolean' },
} as const;

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'new':
      return keysNew(rest);
    case 'create':
    case 'update':
      return keysChange(sub, rest);
    case 'list':
    case 'show':
    case 'rotate':
    case 'revoke':
      return keysSimple(sub, rest);
    default:
      throw new UserError(USAGE);
  }
}

function keysNew(args: string[]): number {
  const { values } = parseArgs({ args, options: { name: { type: 'string' }, json: { type: 'boolean' } } });
  const name = values.name ?? 'my-client';
  const key = newKey();
  const digest = keyDigest(key);
  if (values.json) {
    printJson({
      client: name,
      key,
      keySha256: digest,
      config: { clients: { [name]: { keySha256: digest, objectives: ['*'] } } },
    });
    return 0;
  }
  process.stdout.write(
    `key:       ${key}\n` +
      `keySha256: ${digest}\n\n` +
      '# Give the key to the client (it is shown only now); put the digest in the config:\n' +
      `clients:\n  ${name}: { keySha256: "${digest}", objectives: ["*"] }\n`,
  );
  return 0;
}

function keysPath(name: string): string {
  return `/admin/keys/${encodeURIComponent(name)}`;
}

function withAuthor(path: string): string {
  return `${path}?author=${encodeURIComponent(whoAmI())}`;
}

function needName(name: string | undefined, sub: string): string {
  if (!name) throw new UserError(`name the client: junction keys ${sub} NAME\n${USAGE}`);
  return name;
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UserError(`--${flag} must be a positive number (got "${value}")`);
  return n;
}

/** The body of a create or an update from the flags: only what was given. */
function settingsBody(values: {
  objectives?: string;
  rps?: string;
  burst?: string;
  tpm?: string;
  tag?: string[];
  priority?: string;
  'max-concurrency'?: string;
  'allow-override'?: boolean;
}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (values.objectives !== undefined)
    body.objectives = values.objectives
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const rateLimit = {
    rps: positiveNumber('rps', values.rps),
    burst: positiveNumber('burst', values.burst),
    tpm: positiveNumber('tpm', values.tpm),
  };
  if (Object.values(rateLimit).some((v) => v !== undefined)) body.rateLimit = rateLimit;
  if (values.tag !== undefined) {
    const tags: Record<string, string> = {};
    for (const t of values.tag) {
      const at = t.indexOf('=');
      if (at <= 0) throw new UserError(`--tag is KEY=VALUE, e.g. --tag team=search (got "${t}")`);
      tags[t.slice(0, at)] = t.slice(at + 1);
    }
    body.tags = tags;
  }
  if (values.priority !== undefined) body.priority = values.priority;
  const concurrency = positiveNumber('max-concurrency', values['max-concurrency']);
  if (concurrency !== undefined) body.maxConcurrency = concurrency;
  if (values['allow-override'] !== undefined) body.allowOverride = values['allow-override'];
  return body;
}

async function keysChange(sub: 'create' | 'update', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ADMIN_OPTIONS, ...SETTINGS_OPTIONS },
  });
  const name = needName(positionals[0], sub);
  const target = adminTarget(values.admin);
  const body = settingsBody(values);
  const answer =
    sub === 'create'
      ? await adminCall<KeyAnswer>(target, 'POST', withAuthor('/admin/keys'), { name, ...body })
      : await adminCall<KeyAnswer>(target, 'PATCH', withAuthor(keysPath(name)), body);
  if (values.json) printJson(answer);
  else if (sub === 'create') printIssued(`created client ${name}`, answer);
  else if (answer.unchanged) process.stdout.write(`unchanged: client ${name} already has these settings\n`);
  else process.stdout.write(`updated client ${name} (revision ${answer.revision})\n${describe(answer.settings)}`);
  printWarnings(answer);
  return 0;
}

async function keysSimple(sub: 'list' | 'show' | 'rotate' | 'revoke', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: ADMIN_OPTIONS });
  const target = adminTarget(values.admin);
  if (sub === 'list') {
    const answer = await adminCall<{ revision: number; clients: ClientView[] }>(target, 'GET', '/admin/keys');
    if (values.json) printJson(answer);
    else process.stdout.write(table(answer.clients, answer.revision));
    return 0;
  }
  const name = needName(positionals[0], sub);
  if (sub === 'show') {
    const answer = await adminCall<ClientView & { revision: number }>(target, 'GET', keysPath(name));
    if (values.json) printJson(answer);
    else process.stdout.write(`client ${name} (revision ${answer.revision})\n${describe(answer)}`);
    return 0;
  }
  const answer =
    sub === 'rotate'
      ? await adminCall<KeyAnswer>(target, 'PATCH', withAuthor(keysPath(name)), { rotate: true })
      : await adminCall<KeyAnswer>(target, 'DELETE', withAuthor(keysPath(name)));
  if (values.json) printJson(answer);
  else if (sub === 'rotate') printIssued(`rotated client ${name}: its old key no longer works`, answer);
  else process.stdout.write(`revoked client ${name} (revision ${answer.revision}): its key no longer works\n`);
  printWarnings(answer);
  return 0;
}

function printIssued(what: string, a: KeyAnswer): void {
  process.stdout.write(
    `${what} (revision ${a.revision})\n` +
      `key:       ${a.key}\n` +
      `keySha256: ${a.keySha256}\n` +
      '# Give the key to the client: it is shown only now (Junction keeps only its digest).\n',
  );
}

function printWarnings(a: KeyAnswer): void {
  for (const w of a.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
}

function limits(c: ClientView): string {
  const parts: string[] = [];
  if (c.rateLimit?.rps !== undefined)
    parts.push(`rps ${c.rateLimit.rps}${c.rateLimit.burst === undefined ? '' : ` burst ${c.rateLimit.burst}`}`);
  if (c.rateLimit?.tpm !== undefined) parts.push(`tpm ${c.rateLimit.tpm}`);
  if (c.maxConcurrency !== null) parts.push(`concurrency ${c.maxConcurrency}`);
  return parts.join(' ') || '-';
}

function tagsText(tags: Record<string, string>): string {
  return (
    Object.entries(tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-'
  );
}

function describe(c: ClientView | null | undefined): string {
  if (!c) return '';
  const budgets = c.budgets.map((b) => `${b.max} ${b.unit}/${b.per}`).join(', ') || '-';
  return (
    `  objectives: ${c.objectives.join(',')}\n` +
    `  limits:     ${limits(c)}\n` +
    `  priority:   ${c.priority}${c.allowOverride ? ' (may override)' : ''}\n` +
    `  tags:       ${tagsText(c.tags)}\n` +
    `  budgets:    ${budgets}\n` +
    `  key:        sha256 ${c.keySha256Prefix}… (issued by ${c.issuedBy === 'api' ? 'the admin API' : 'a config'})\n`
  );
}

function table(clients: ClientView[], revision: number): string {
  if (clients.length === 0) return `no clients in revision ${revision}: the data plane serves callers without a key\n`;
  const rows = [
    ['NAME', 'ISSUED', 'KEY SHA256', 'OBJECTIVES', 'LIMITS', 'PRIORITY', 'TAGS'],
    ...clients.map((c) => [
      c.name,
      c.issuedBy,
      `${c.keySha256Prefix}…`,
      c.objectives.join(','),
      limits(c),
      c.priority,
      tagsText(c.tags),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/**
 * Clients a config change drops, from its diff: a whole-config apply replaces
 * `clients:` too, so a file that omits clients issued through the admin API
 * revokes them. Said before (`junction diff`) and after (`junction apply`).
 */
export function removedClients(diff: readonly string[]): string[] | 'all' | undefined {
  if (diff.includes('- clients')) return 'all';
  const names = diff.flatMap((l) => (l.startsWith('- clients.') ? [l.slice('- clients.'.length)] : []));
  return names.length > 0 ? names : undefined;
}

/** A warning line when the diff drops clients; `applied`: the revision the apply stored (else a dry run). */
export function removedClientsWarning(diff: readonly string[], applied?: number): string {
  const removed = removedClients(diff);
  if (removed === undefined) return '';
  const who = removed === 'all' ? 'every client' : `client${removed.length === 1 ? '' : 's'} ${removed.join(', ')}`;
  return (
    `warning: ${applied === undefined ? 'applying this file revokes' : 'this apply revoked'} ${who}: ` +
    `their keys ${applied === undefined ? 'would stop working' : 'no longer work'}. ` +
    'Clients issued with "junction keys create" live only in the store: keep them by adding their ' +
    `entries (junction keys list, GET /admin/config) to the file` +
    (applied === undefined ? '.\n' : `, or undo with "junction rollback ${applied - 1}".\n`)
  );
}
