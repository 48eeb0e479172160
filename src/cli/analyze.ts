// `junction analyze --decisions FILE… --feedback FILE… [--experiment ID] [--config FILE] [--json]`:
// the experiment readout (SPEC §12) computed offline from the logs.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { formatReadout } from '../readout/format.js';
import { readExperiments } from '../readout/readout.js';
import { UserError } from './user-error.js';

const USAGE = `usage: junction analyze --decisions FILE… [--feedback FILE…] [--experiment ID] [--config FILE] [--json]
  --decisions   decision log files (JSON lines, as written by --decision-log); repeat or list several
  --feedback    feedback log files (as written by --feedback-log)
  --experiment  only this experiment
  --config      the config that ran the experiment: cell order and weights for the sample-ratio test
                (without it the first cell is the first by name and an equal split is expected)
  --json        the readout as JSON (docs/experiments.md describes its fields)
  --memory-limit  DuckDB memory limit, e.g. 4GiB (default: DuckDB's, 80 % of RAM); past it DuckDB spills to --temp-dir
  --threads     DuckDB threads (default: every core)
  --temp-dir    where DuckDB spills (default: a fresh folder under the OS temp folder, removed after)
`;

export async function analyzeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      decisions: { type: 'string', multiple: true },
      feedback: { type: 'string', multiple: true },
      experiment: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      'memory-limit': { type: 'string' },
      threads: { type: 'string' },
      'temp-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // `--decisions a.jsonl b.jsonl --feedback f.jsonl`: bare files after a flag belong to it, as a shell glob gives them.
  const decisions = [...(values.decisions ?? [])];
  const feedback = [...(values.feedback ?? [])];
  let current: string[] | undefined;
  for (const token of args) {
    if (token === '--decisions') current = decisions;
    else if (token === '--feedback') current = feedback;
    else if (token.startsWith('-')) current = undefined;
    else if (current && positionals.includes(token) && !current.includes(token)) current.push(token);
  }
  if (decisions.length === 0)
    throw new UserError('give the decision log: --decisions FILE… (see junction analyze --help)');
  for (const f of [...decisions, ...feedback]) if (!existsSync(f)) throw new UserError(`no such file: ${f}`);
  const config = values.config === undefined ? undefined : loadConfigFile(values.config).config;
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new UserError(`--threads must be a whole number ≥ 1 (got ${values.threads})`);
  const readout = await readExperiments({ decisions, feedback, experiment: values.experiment }, config, {
    memoryLimit: values['memory-limit'],
    threads,
    tempDirectory: values['temp-dir'],
  });
  if (values.experiment !== undefined && readout.experiments.length === 0) {
    throw new UserError(`no live exposures of experiment "${values.experiment}" in ${decisions.join(', ')}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(readout, null, 2)}\n` : formatReadout(readout));
  return 0;
}
