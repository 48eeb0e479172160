// `junction analyze --decisions FILE… --feedback FILE… [--experiment ID] [--config FILE] [--json]`:
// the experiment readout (SPEC §12) computed offline from the logs, or
// `junction analyze --store postgres://…`: the fleet readout (SPEC §19) from
// the tables every replica writes. The cell weights of the sample-ratio test
// come from the revisions the exposures were logged under (the store), or the
// config given; without either the test is reported unknown, never assumed.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { FleetReadoutReader } from '../control/fleet-readout.js';
import { formatReadout } from '../readout/format.js';
import { expandLogFiles } from '../readout/log-files.js';
import { readExperiments, type Readout } from '../readout/readout.js';
import { UserError } from './user-error.js';

const USAGE = `usage: junction analyze --decisions FILE… [--feedback FILE…] [--experiment ID] [--config FILE] [--store URL] [--json]
       junction analyze --store postgres://… [--experiment ID] [--json]
  --decisions   decision log files (JSON lines, as written by --decision-log); repeat or list several;
                quoted globs ('logs/*/decisions.jsonl') too; a log file brings the files it was rotated into
  --feedback    feedback log files (as written by --feedback-log), the same way
  --store       the PostgreSQL store of the replicas (postgres://…?schema=…): without --decisions, the
                fleet readout from its tables; with --decisions, the weights of the logged revisions
  --experiment  only this experiment
  --config      the config that ran the experiment: cell order and weights for the sample-ratio test
                (without it or --store the weights are not known and the test is reported unknown)
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
      store: { type: 'string' },
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
  const config = values.config === undefined ? undefined : loadConfigFile(values.config).config;
  const store = values.store === undefined ? undefined : openReader(values.store);
  try {
    let readout: Readout;
    let where: string;
    if (decisions.length === 0) {
      if (store === undefined)
        throw new UserError(
          'give the decision log (--decisions FILE…) or the store (--store postgres://…); see junction analyze --help',
        );
      if (feedback.length > 0) throw new UserError('--feedback reads with --decisions; the store has its own feedback');
      readout = await store.read(values.experiment, config).catch((err: unknown) => {
        throw storeError(err);
      });
      where = 'the store';
    } else {
      // Globs (several replicas' logs) and each log's rotated files (serve --log-rotate): readout/log-files.ts.
      const files = { decisions: expandLogFiles(decisions), feedback: expandLogFiles(feedback) };
      const unmatched = [...files.decisions.unmatched, ...files.feedback.unmatched];
      if (unmatched.length > 0) throw new UserError(`no such file: ${unmatched.join(', ')}`);
      const threads = values.threads === undefined ? undefined : Number(values.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
        throw new UserError(`--threads must be a whole number ≥ 1 (got ${values.threads})`);
      readout = await readExperiments(
        { decisions: files.decisions.files, feedback: files.feedback.files, experiment: values.experiment },
        config,
        { memoryLimit: values['memory-limit'], threads, tempDirectory: values['temp-dir'] },
        store && ((revisions) => store.weightsOf(revisions).catch((err: unknown) => Promise.reject(storeError(err)))),
      );
      where = decisions.join(', ');
    }
    if (values.experiment !== undefined && readout.experiments.length === 0) {
      throw new UserError(`no live exposures of experiment "${values.experiment}" in ${where}`);
    }
    process.stdout.write(values.json ? `${JSON.stringify(readout, null, 2)}\n` : formatReadout(readout));
    return 0;
  } finally {
    await store?.close();
  }
}

function openReader(url: string): FleetReadoutReader {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UserError(`--store must be a postgres:// URL (got "${url}")`);
  try {
    return new FleetReadoutReader(url);
  } catch (err) {
    throw new UserError(`--store: ${(err as Error).message}`);
  }
}

/** The store down or not a Junction store: a problem the user fixes (exit 1), said in one line. */
function storeError(err: unknown): UserError {
  const message = (err as Error).message;
  const hint = /relation .* does not exist/.test(message)
    ? 'no fleet readout tables there: is it the store (and ?schema=) the replicas run with, at this version?'
    : 'check --store and that the database is up';
  return new UserError(`cannot read the store: ${message}; ${hint}`);
}
