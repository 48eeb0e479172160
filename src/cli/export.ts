// `junction export nginx (--config FILE | --admin URL) --listen ADDR:PORT
// --junction URL [--grpc-listen ADDR:PORT] [--out FILE] [--watch --reload CMD]`
// (SPEC §10, §15: --grpc-listen adds the HTTP/2 listener for oip-grpc targets). With
// --watch it follows revisions — the file's changes, or for --admin the admin
// API's live revision (a long-poll with JUNCTION_ADMIN_TOKEN, the one credential
// --admin needs) — rewrites the file atomically when its text changes and runs
// the reload command (e.g. "nginx -s reload"). A refused token (401/403) ends
// the command with exit 1 and the fix; an unreachable Junction is retried.
import { exec } from 'node:child_process';
import { readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { loadConfigFile, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AdminAuthError, adminCall, adminTarget, type AdminTarget } from './admin-client.js';
import { nginxConfig } from './nginx-config.js';
import { UserError } from './user-error.js';

interface Loaded {
  config: Config;
  source: string;
}

/** What `GET /admin/config` answers (the fields used here). */
interface AdminConfig {
  revision: number;
  config: unknown;
}

/** How long one long-poll of the admin API is held: well under its 60 s request timeout. */
const WAIT_SECONDS = 30;
/** The least time between two polls when the server answers at once. */
const MIN_POLL_MS = 1_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

const run = promisify(exec);

export async function exportCommand(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  if (kind !== 'nginx')
    throw new UserError(`export what? junction export nginx … (got ${kind === undefined ? 'nothing' : `"${kind}"`})`);
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      admin: { type: 'string' },
      listen: { type: 'string' },
      'grpc-listen': { type: 'string' },
      junction: { type: 'string' },
      out: { type: 'string' },
      watch: { type: 'boolean' },
      reload: { type: 'string' },
    },
  });
  if ((values.config === undefined) === (values.admin === undefined))
    throw new UserError('name the config with exactly one of --config FILE or --admin URL');
  if (values.listen === undefined)
    throw new UserError('--listen ADDR:PORT is required: where nginx takes the routed requests');
  if (values.junction === undefined)
    throw new UserError('--junction URL is required: where requests nginx does not route go');
  try {
    new URL(values.junction);
  } catch {
    throw new UserError(`--junction ${values.junction} is not a URL; e.g. http://127.0.0.1:8080`);
  }
  if (values['grpc-listen'] !== undefined && values['grpc-listen'] === values.listen)
    throw new UserError('--grpc-listen needs its own address: nginx speaks HTTP/2 (gRPC) there, HTTP/1.1 on --listen');
  if (values.watch && values.out === undefined)
    throw new UserError('--watch needs --out FILE (the file nginx includes)');
  if (values.reload !== undefined && !values.watch)
    throw new UserError('--reload runs on every revision: use it with --watch');

  const admin = values.admin === undefined ? undefined : adminTarget(values.admin);
  const fromAdmin = (answer: AdminConfig): Loaded => ({
    config: validateConfig(answer.config, 'admin config'),
    source: `revision ${Number(answer.revision)}`,
  });
  const render = (l: Loaded) =>
    nginxConfig(l.config, {
      listen: values.listen!,
      junction: values.junction!,
      source: l.source,
      grpcListen: values['grpc-listen'],
    });

  let first: AdminConfig | undefined;
  if (admin !== undefined) first = await adminCall<AdminConfig>(admin, 'GET', '/admin/config');
  let text = render(first === undefined ? loadFile(values.config!) : fromAdmin(first));
  if (values.out === undefined) {
    process.stdout.write(text);
    return 0;
  }
  writeAtomically(values.out, text);
  if (!values.watch) return 0;

  const update = async (load: () => Loaded) => {
    let next: string;
    try {
      next = render(load());
    } catch (err) {
      process.stderr.write(`junction export: keeping ${values.out}: ${(err as Error).message.split('\n')[0]}\n`);
      return;
    }
    if (next === text) return;
    try {
      writeAtomically(values.out!, next);
    } catch (err) {
      // A full disk or a lost permission: say so and keep watching (the next revision tries again).
      process.stderr.write(`junction export: cannot write ${values.out}: ${(err as Error).message.split('\n')[0]}\n`);
      return;
    }
    text = next;
    process.stderr.write(`junction export: wrote ${values.out} (${firstLine(text)})\n`);
    if (values.reload !== undefined) {
      try {
        await run(values.reload);
      } catch (err) {
        process.stderr.write(`junction export: reload command failed: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
  };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onSignal);
  try {
    if (admin === undefined) {
      const file = values.config!;
      await watchFileUntil(file, () => update(() => loadFile(file)), stop.signal);
    } else {
      await followAdmin(admin, first!.revision, (answer) => update(() => fromAdmin(answer)), stop.signal);
    }
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
  }
  return 0;
}

function loadFile(file: string): Loaded {
  return { config: loadConfigFile(file).config, source: `file ${file}` };
}

function firstLine(text: string): string {
  return /from config (.+?)\. Do not edit/.exec(text)?.[1] ?? 'new revision';
}

/** Readers (nginx reloading) see the old file or the new one, never half of one. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function watchFileUntil(file: string, update: () => Promise<void>, signal: AbortSignal): Promise<void> {
  let last: string | undefined;
  let chain = Promise.resolve();
  const check = () => {
    chain = chain.then(async () => {
      let now: string;
      try {
        now = readFileSync(file, 'utf8');
      } catch {
        return; // mid-replace by an editor: the next change event reads it
      }
      if (now === last) return;
      last = now;
      await update(); // a no-op when the output text is unchanged
    });
  };
  watchFile(file, { interval: 250 }, check);
  check(); // a change between the first export and the watch starting is not missed
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  unwatchFile(file);
  await chain;
}

/**
 * Follows the admin API's live revision with the admin token (a long-poll: `GET /admin/config?after=N&wait=S`
 * answers when a newer revision is live). Unreachable or failing: said, and retried with backoff. Refused
 * (401/403): thrown, so the command exits 1 with the fix instead of retrying a credential that cannot work.
 */
async function followAdmin(
  admin: AdminTarget,
  revision: number,
  update: (answer: AdminConfig) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let delay = RETRY_FIRST_MS;
  while (!signal.aborted) {
    const asked = Date.now();
    try {
      const path = `/admin/config?after=${revision}&wait=${WAIT_SECONDS}`;
      const answer = await adminCall<AdminConfig>(admin, 'GET', path, undefined, signal);
      delay = RETRY_FIRST_MS;
      if (answer.revision !== revision) {
        revision = answer.revision;
        await update(answer); // a no-op when the text is unchanged
      } else if (Date.now() - asked < MIN_POLL_MS) {
        // An answer before any wait: a Junction that does not hold the call. Poll, but not in a loop.
        await pause(MIN_POLL_MS, signal);
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AdminAuthError) throw err;
      process.stderr.write(
        `junction export: ${admin.url} unreachable or failing (${(err as Error).message.split('\n')[0]}); retrying in ${delay} ms\n`,
      );
      await pause(delay, signal);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
