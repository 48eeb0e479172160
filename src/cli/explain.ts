// `junction explain FILE OBJECTIVE`: the routing decision for a unit and
// context, with the trail, computed offline from a config file. It names the
// balancer that would pick the replica (the cell's or candidate's `balance`,
// else the backend's own) and the target's configured endpoints; the replicas'
// live state (outstanding, load, ejections) is the running Junction's:
// GET /v1/objectives/{o}/explain or GET /admin/objectives/{o}.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { redactUrl } from '../config/redact.js';
import { compileRouting } from '../routing/compile.js';
import { explain } from '../routing/decide.js';
import { routingRequest, type FieldNames } from '../routing/request.js';
import { UserError } from './user-error.js';

const FLAGS: FieldNames = { trafficClass: '--traffic-class', override: '--override', overrideSource: 'query' };

export async function explainCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      unit: { type: 'string' },
      context: { type: 'string', multiple: true },
      'traffic-class': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const [file, objective] = positionals;
  if (!file || !objective) throw new UserError('usage: junction explain FILE OBJECTIVE [--unit U] [--context k=v …]');
  const { config } = loadConfigFile(file);
  const table = compileRouting(config, 0);
  const o = table.objectives.get(objective);
  if (!o)
    throw new UserError(
      `no objective "${objective}" in ${file} (objectives: ${[...table.objectives.keys()].join(', ')})`,
    );
  const context: Record<string, string> = {};
  for (const kv of values.context ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UserError(`--context takes key=value (got "${kv}")`);
    context[kv.slice(0, eq).toLowerCase()] = kv.slice(eq + 1);
  }
  // The same checks and defaults as a request's headers (a bad --traffic-class is invalid_request, a user error).
  const req = routingRequest(values.unit, context, values['traffic-class'], undefined, FLAGS);
  const { outcome, trail } = explain(table, o, req);
  const b = outcome.target.backend;
  const balance = outcome.balance ?? (b.type === 'http' ? (b.balance ?? 'p2c') : null);
  const endpoints = b.type === 'http' ? b.endpoints.map(redactUrl) : [];
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ target: outcome.target.id, rule: outcome.rule, cell: outcome.cell ?? null, balance, endpoints, trail }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `${objective} → ${outcome.target.id}  (rule=${outcome.rule}${outcome.cell ? ` cell=${outcome.cell}` : ''}${outcome.balance ? ` balance=${outcome.balance}` : ''}${values.unit ? '' : ', no unit: random allocation'})\n`,
  );
  if (balance !== null)
    process.stdout.write(
      `  replicas picked by ${balance}${outcome.balance ? " (the arm's)" : ''} among ${endpoints.join(', ')} (their live state: GET /admin/objectives/${objective})\n`,
    );
  for (const t of trail) {
    process.stdout.write(
      `  ${t.matched ? '✓' : '·'} ${t.step.padEnd(10)} ${t.id.padEnd(16)} ${t.reason}${t.target ? ` → ${t.target}` : ''}\n`,
    );
  }
  return 0;
}
