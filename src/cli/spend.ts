// `junction spend [--by client|tag|objective|target] [--from T] [--to T]`:
// GET /admin/spend as a table (or --json), this month so far by default.
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminCall, adminTarget, printJson } from './admin-client.js';
import { UserError } from './user-error.js';

interface SpendRow {
  key: string;
  cost: Record<string, number>;
  tokens: { prompt: number; completion: number; cached: number };
  requests: number;
  estimatedRequests: number;
}

export interface SpendAnswer {
  by: string;
  from: string;
  to: string;
  timeZone: string;
  rows: SpendRow[];
  total: SpendRow;
}

const BY = ['client', 'tag', 'objective', 'target'];

export async function spendCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...ADMIN_OPTIONS,
      by: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      client: { type: 'string' },
      tag: { type: 'string', multiple: true },
    },
  });
  const by = values.by ?? 'client';
  if (!BY.includes(by)) throw new UserError(`--by must be one of ${BY.join(', ')} (got "${by}")`);
  const q = new URLSearchParams({ by });
  if (values.from !== undefined) q.set('from', values.from);
  if (values.to !== undefined) q.set('to', values.to);
  if (values.client !== undefined) q.set('client', values.client);
  for (const t of values.tag ?? []) q.append('tag', t);
  const answer = await adminCall<SpendAnswer>(adminTarget(values.admin), 'GET', `/admin/spend?${q}`);
  if (values.json) printJson(answer);
  else process.stdout.write(spendTable(answer));
  return 0;
}

/** The answer as aligned columns: one row per key, the total last. */
export function spendTable(a: SpendAnswer): string {
  const head = `spend by ${a.by}, ${a.from} to ${a.to} (${a.timeZone})\n`;
  if (a.rows.length === 0) return `${head}nothing spent in this window\n`;
  const label = (key: string) => (key === '' ? (a.by === 'client' ? '(no key)' : '(all)') : key);
  const line = (r: SpendRow, key: string) => [
    key,
    money(r.cost),
    String(r.requests),
    r.estimatedRequests > 0 ? String(r.estimatedRequests) : '',
    String(r.tokens.prompt),
    String(r.tokens.completion),
    String(r.tokens.cached),
  ];
  const table = [
    [a.by, 'cost', 'requests', 'estimated', 'prompt', 'completion', 'cached'],
    ...a.rows.map((r) => line(r, label(r.key))),
    line(a.total, 'total'),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const text = table
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    .map((l) => `${l.trimEnd()}\n`)
    .join('');
  return head + text;
}

/** `12.3456 USD + 1.2 EUR`, or `-` when nothing was priced. */
function money(cost: Record<string, number>): string {
  const parts = Object.entries(cost)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, amount]) => `${amount.toFixed(4)} ${currency}`);
  return parts.length === 0 ? '-' : parts.join(' + ');
}
