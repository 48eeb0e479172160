// `junction apply FILE [--message M]` and `junction diff FILE`: send a config
// file to a running Junction (diff: a dry run that changes nothing).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../config/load.js';
import { ADMIN_OPTIONS, adminCall, adminTarget, ConfigText, indent, printJson, whoAmI } from './admin-client.js';
import { removedClientsWarning } from './keys.js';
import { UserError } from './user-error.js';

interface ApplyAnswer {
  revision: number;
  unchanged: boolean;
  diff: string[];
}
interface DryRunAnswer {
  revision: number;
  diff: string[];
}

/** The file's text, checked for syntax here so that an error is reported before anything is sent. */
function readSource(file: string | undefined, verb: string): ConfigText {
  if (!file) throw new UserError(`name the config file: junction ${verb} FILE`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${String((err as NodeJS.ErrnoException).code ?? err)}`);
  }
  parseConfigText(text, file);
  return new ConfigText(text);
}

export async function applyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ADMIN_OPTIONS, message: { type: 'string', short: 'm' } },
  });
  const source = readSource(positionals[0], 'apply');
  const q = new URLSearchParams({ author: whoAmI(), message: values.message ?? `junction apply ${positionals[0]}` });
  const answer = await adminCall<ApplyAnswer>(adminTarget(values.admin), 'PUT', `/admin/config?${q}`, source);
  if (values.json) printJson(answer);
  else if (answer.unchanged) process.stdout.write(`unchanged: revision ${answer.revision} already has this config\n`);
  else
    process.stdout.write(
      `applied: revision ${answer.revision} is live (${answer.diff.length} change${answer.diff.length === 1 ? '' : 's'})\n${indent(answer.diff)}`,
    );
  if (!answer.unchanged) process.stderr.write(removedClientsWarning(answer.diff, answer.revision));
  return 0;
}

export async function diffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: ADMIN_OPTIONS });
  const source = readSource(positionals[0], 'diff');
  const answer = await adminCall<DryRunAnswer>(adminTarget(values.admin), 'PUT', '/admin/config?dryRun=true', source);
  if (values.json) printJson(answer);
  else if (answer.diff.length === 0) process.stdout.write(`no changes against revision ${answer.revision}\n`);
  else process.stdout.write(`valid; against revision ${answer.revision}:\n${indent(answer.diff)}`);
  process.stderr.write(removedClientsWarning(answer.diff));
  return 0;
}
