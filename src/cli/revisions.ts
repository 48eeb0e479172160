// `junction revisions [N]` (the list, or one revision with its diff) and `junction rollback N`.
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminCall, adminTarget, indent, printJson, whoAmI } from './admin-client.js';
import { UserError } from './user-error.js';

interface Summary {
  number: number;
  author: string;
  createdAt: string;
  message: string;
  diff: string;
}
interface ListAnswer {
  live: number;
  revisions: Summary[];
}
interface DetailAnswer extends Summary {
  live: boolean;
  source: unknown;
}
interface RollbackAnswer {
  revision: number;
  unchanged: boolean;
  diff: string[];
}

export async function revisionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ADMIN_OPTIONS, limit: { type: 'string' } },
  });
  if (positionals[0] !== undefined) return showRevision(positionals[0], values.admin, values.json);
  const limit = values.limit ?? '20';
  if (!/^\d+$/.test(limit)) throw new UserError(`--limit must be a whole number (got "${limit}")`);
  const answer = await adminCall<ListAnswer>(adminTarget(values.admin), 'GET', `/admin/revisions?limit=${limit}`);
  if (values.json) {
    printJson(answer);
    return 0;
  }
  if (answer.revisions.length === 0) {
    process.stdout.write('no revisions yet: junction apply FILE creates the first\n');
    return 0;
  }
  for (const r of answer.revisions) {
    const changes = r.diff.split('\n').filter((l) => /^[+~-] /.test(l)).length;
    const live = r.number === answer.live ? ' (live)' : '';
    process.stdout.write(
      `${String(r.number).padStart(5)}${live.padEnd(7)}  ${r.createdAt.slice(0, 19).replace('T', ' ')}Z  ${r.author}  ${changes} change${changes === 1 ? '' : 's'}  ${r.message}\n`,
    );
  }
  return 0;
}

async function showRevision(n: string, admin: string | undefined, json: boolean | undefined): Promise<number> {
  if (!/^\d+$/.test(n) || Number(n) < 1)
    throw new UserError(`a revision is a positive number (got "${n}"); list them with junction revisions`);
  const r = await adminCall<DetailAnswer>(adminTarget(admin), 'GET', `/admin/revisions/${n}`);
  if (json) printJson(r);
  else
    process.stdout.write(
      `revision ${r.number}${r.live ? ' (live)' : ''} by ${r.author} at ${r.createdAt}: ${r.message || '(no message)'}\n${indent(r.diff.split('\n'))}`,
    );
  return 0;
}

export async function rollbackCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ADMIN_OPTIONS, message: { type: 'string', short: 'm' } },
  });
  const n = positionals[0];
  if (!n || !/^\d+$/.test(n) || Number(n) < 1)
    throw new UserError('name the revision to go back to: junction rollback N (see junction revisions)');
  const q = new URLSearchParams({ author: whoAmI(), ...(values.message ? { message: values.message } : {}) });
  const answer = await adminCall<RollbackAnswer>(
    adminTarget(values.admin),
    'POST',
    `/admin/revisions/${n}/rollback?${q}`,
  );
  if (values.json) printJson(answer);
  else if (answer.unchanged)
    process.stdout.write(`unchanged: the live revision ${answer.revision} already has revision ${n}'s config\n`);
  else
    process.stdout.write(
      `rolled back: revision ${answer.revision} is live with revision ${n}'s config\n${indent(answer.diff)}`,
    );
  return 0;
}
