// `junction serve`: the data plane (and, with the control plane, the admin API).
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startJunction } from '../app.js';
import { pino } from 'pino';
import { createLogger } from '../observe/logger.js';
import { UserError } from './user-error.js';

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${flag} must be a port number 0-65535 (got "${value}")`);
  return n;
}

export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      watch: { type: 'boolean' },
      data: { type: 'string' },
      store: { type: 'string' },
      redis: { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      'decision-log': { type: 'string' },
      'access-log': { type: 'boolean' },
      'insecure-admin': { type: 'boolean' },
    },
  });
  if (values.config === undefined && values.store === undefined && values.data === undefined) {
    throw new UserError('give a config: junction serve --config FILE (or a store with --data DIR / --store URL)');
  }
  const decisionLog = values['decision-log'] ?? process.env.JUNCTION_DECISION_LOG;
  if (decisionLog !== undefined && decisionLog !== '-') {
    try {
      closeSync(openSync(decisionLog, 'a'));
    } catch (err) {
      throw new UserError(`--decision-log: cannot write ${decisionLog} (${(err as Error).message}); give a writable file or - for stdout`);
    }
  }
  const junction = await startJunction({
    configFile: values.config,
    port: port(values.port, 8080, '--port'),
    host: values.host ?? '0.0.0.0',
    redis: values.redis,
    // With the decision log on stdout, logs go to stderr so the JSON lines stay clean.
    log: createLogger(decisionLog === '-' ? { destination: pino.destination({ dest: 2, sync: false }) } : {}),
    processMetrics: true,
    decisionLog,
    accessLog: values['access-log'] ?? ['1', 'true'].includes(process.env.JUNCTION_ACCESS_LOG ?? ''),
  });
  // `--decision-log -` owns stdout: nothing else may write there.
  (decisionLog === '-' ? process.stderr : process.stdout).write(`junction: serving ${junction.url} (revision ${junction.runtime.current?.number ?? 'none'})\n`);
  const stop = () => {
    void junction.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}
