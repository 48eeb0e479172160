// `junction <command>`: exit 0 on success, 1 on a user error with a one-line
// message saying what to fix, 2 on an internal failure (SPEC §7).
import { packageVersion } from '../app.js';
import { ConfigError } from '../config/issues.js';
import { JunctionError } from '../errors.js';
import { analyzeCommand } from './analyze.js';
import { applyCommand, diffCommand } from './apply.js';
import { benchCommand } from './bench.js';
import { explainCommand } from './explain.js';
import { exportCommand } from './export.js';
import { keysCommand } from './keys.js';
import { logsCommand } from './logs.js';
import { revisionsCommand, rollbackCommand } from './revisions.js';
import { rolloutCommand } from './rollout.js';
import { serveCommand } from './serve.js';
import { spendCommand } from './spend.js';
import { mainUsage, verbUsage } from './usage.js';
import { UserError } from './user-error.js';
import { validateCommand } from './validate.js';

type Command = (args: string[]) => Promise<number | undefined>;

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  validate: validateCommand,
  explain: explainCommand,
  keys: keysCommand,
  apply: applyCommand,
  diff: diffCommand,
  revisions: revisionsCommand,
  rollback: rollbackCommand,
  rollout: rolloutCommand,
  bench: benchCommand,
  export: exportCommand,
  analyze: analyzeCommand,
  logs: logsCommand,
  spend: spendCommand,
};

export async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`junction: unknown command "${name}"; run "junction --help" for the list\n`);
    return 1;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(verbUsage(name));
    return 0;
  }
  try {
    return await command(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    // A JunctionError below 500 is the caller's to fix (a config that cannot be served, a refused apply).
    if (
      err instanceof UserError ||
      (err instanceof JunctionError && err.status < 500) ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')
    ) {
      process.stderr.write(`junction ${name}: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`junction ${name}: internal error: ${String((err as Error).stack ?? err)}\n`);
    return 2;
  }
}

const version = packageVersion;
