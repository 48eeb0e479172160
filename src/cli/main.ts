// `junction <command>`: exit 0 on success, 1 on a user error with a one-line
// message saying what to fix, 2 on an internal failure (SPEC §7).
import { ConfigError } from '../config/issues.js';
import { applyCommand, diffCommand } from './apply.js';
import { benchCommand } from './bench.js';
import { explainCommand } from './explain.js';
import { keysCommand } from './keys.js';
import { revisionsCommand, rollbackCommand } from './revisions.js';
import { rolloutCommand } from './rollout.js';
import { serveCommand } from './serve.js';
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
};

const USAGE = `usage: junction <command> [options]

commands:
  serve      [--config FILE] [--watch] [--data DIR | --store URL] [--redis URL] [--port N] [--admin-port N] [--grpc-port N] [--host H]
             [--workers N] [--decision-log FILE|-] [--access-log] [--insecure-admin]
  validate   FILE
  explain    FILE OBJECTIVE [--unit U] [--context k=v …] [--traffic-class C]
  keys new   [--name CLIENT]   print a new API key and its SHA-256 digest for clients:
  apply      FILE [--message M]
  diff       FILE
  revisions  [N] [--limit N]
  rollback   N [--message M]
  rollout    OBJECTIVE start|status|pause|resume|promote|abort [--candidate model@version] [--steps 1,5,25,100]
  bench      [--quick] [--write]   the benchmark suite (a source checkout; same as npm run bench)

admin commands talk to a running Junction: --admin URL (default http://127.0.0.1:8081),
token from JUNCTION_ADMIN_TOKEN; --json prints machine-readable output.
`;

export async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`junction: unknown command "${name}"; run "junction --help" for the list\n`);
    return 1;
  }
  try {
    return await command(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    if (err instanceof UserError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`junction ${name}: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`junction ${name}: internal error: ${(err as Error).stack ?? err}\n`);
    return 2;
  }
}
