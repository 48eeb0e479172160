// `junction revisions` and `junction rollback N`.
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminCall, adminTarget, indent, printJson, whoAmI } from './admin-client.js';
import { UserError } from './user-error.js';

interface Summary { number: number; author: string; createdAt: string; message: string; diff: string }
interface ListAnswer { live: number; revisions: Summary[] }
interface RollbackAnswer { revision: number; unchanged: boolean; diff: string[] }

export async function revisionsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...ADMIN_OPTIONS, limit: { type: 'string' } } });
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
    process.stdout.write(`${String(r.number).padStart(5)}${live.padEnd(7)}  ${r.createdAt.slice(0, 19).replace('T', ' ')}Z  ${r.author}  ${changes} change${changes === 1 ? '' : 's'}  ${r.message}\n`);
  }
  return 0;
}

export async function rollbackCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, message: { type: 'string', short: 'm' } } });
  const n = positionals[0];
  if (!n || !/^\d+$/.test(n) || Number(n) < 1) throw new UserError('name the revision to go back to: junction rollback N (see junction revisions)');
  const q = new URLSearchParams({ author: whoAmI(), ...(values.message ? { message: values.message } : {}) });
  const answer = await adminCall<RollbackAnswer>(adminTarget(values.admin), 'POST', `/admin/revisions/${n}/rollback?${q}`);
  if (values.json) printJson(answer);
  else if (answer.unchanged) process.stdout.write(`unchanged: the live revision ${answer.revision} already has revision ${n}'s config\n`);
  else process.stdout.write(`rolled back: revision ${answer.revision} is live with revision ${n}'s config\n${indent(answer.diff)}`);
  return 0;
}
