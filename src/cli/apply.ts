// `junction apply FILE [--message M]` and `junction diff FILE`: send a config
// file to a running Junction (diff: a dry run that changes nothing).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../config/load.js';
import { ADMIN_OPTIONS, adminCall, adminTarget, ConfigText, indent, printJson, whoAmI } from './admin-client.js';
import { removedClientsWarning } from './keys.js';
import type { PreviewReport } from '../control/preview-types.js';
import { previewText } from './preview-text.js';
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
    options: {
      ...ADMIN_OPTIONS,
      message: { type: 'string', short: 'm' },
      preview: { type: 'boolean' },
      window: { type: 'string' },
      sample: { type: 'string' },
      revision: { type: 'string' },
      acknowledge: { type: 'string', multiple: true },
      force: { type: 'string' },
    },
  });
  const source = readSource(positionals[0], 'apply');
  // What to replay (a preview, and the experiment check of an apply): the server's default window otherwise.
  const replay = new URLSearchParams();
  if (values.window !== undefined) replay.set('window', values.window);
  if (values.sample !== undefined) replay.set('sample', values.sample);
  if (values.preview) {
    if (values.revision !== undefined) replay.set('revision', values.revision);
    const report = await adminCall<PreviewReport>(
      adminTarget(values.admin),
      'POST',
      `/admin/config/preview${replay.size > 0 ? `?${replay}` : ''}`,
      source,
    );
    if (values.json) printJson(report);
    else process.stdout.write(previewText(positionals[0]!, report));
    return 0;
  }
  const q = new URLSearchParams({ author: whoAmI(), message: values.message ?? `junction apply ${positionals[0]}` });
  for (const [k, v] of replay) q.set(k, v);
  // Experiments whose readout the author accepts to break (SPEC §18), recorded in the revision.
  for (const id of values.acknowledge ?? []) q.append('acknowledge', id);
  // Why a rollout this config starts is applied although it reaches no unit or has no gate, recorded likewise.
  if (values.force !== undefined) q.set('force', values.force);
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
