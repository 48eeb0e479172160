// `junction export nginx (--config FILE | --admin URL) --listen ADDR:PORT
// --junction URL [--grpc-listen ADDR:PORT] [--out FILE] [--watch --reload CMD]`
// (SPEC §10, §15: --grpc-listen adds the HTTP/2 listener for oip-grpc targets). With
// --watch it follows revisions — the file's changes, or Junction's snapshot
// long-poll for --admin — rewrites the file atomically when its text changes
// and runs the reload command (e.g. "nginx -s reload").
import { exec } from 'node:child_process';
import { readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { loadConfigFile, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { adminCall, adminTarget } from './admin-client.js';
import { nginxConfig } from './nginx-config.js';
import { UserError } from './user-error.js';

interface Loaded {
  config: Config;
  source: string;
}

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

  const load = async (): Promise<Loaded> => {
    if (values.config !== undefined)
      return { config: loadConfigFile(values.config).config, source: `file ${values.config}` };
    const answer = await adminCall<{ revision: number; config: unknown }>(
      adminTarget(values.admin),
      'GET',
      '/admin/config',
    );
    return { config: validateConfig(answer.config, 'admin config'), source: `revision ${Number(answer.revision)}` };
  };
  const render = (l: Loaded) =>
    nginxConfig(l.config, {
      listen: values.listen!,
      junction: values.junction!,
      source: l.source,
      grpcListen: values['grpc-listen'],
    });

  let text = render(await load());
  if (values.out === undefined) {
    process.stdout.write(text);
    return 0;
  }
  writeAtomically(values.out, text);
  if (!values.watch) return 0;

  const update = async () => {
    let next: string;
    try {
      next = render(await load());
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
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  if (values.config !== undefined) await watchFileUntil(values.config, update, stop.signal);
  else await followSnapshots(values.junction, update, stop.signal);
  return 0;
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

/** Long-polls Junction's snapshot (its ETag names the revision); every new revision re-renders. */
async function followSnapshots(junction: string, update: () => Promise<void>, signal: AbortSignal): Promise<void> {
  const url = `${junction.replace(/\/+$/, '')}/v1/config/snapshot?wait=30`;
  const key = process.env.JUNCTION_API_KEY;
  let etag: string | undefined;
  let delay = 250;
  while (!signal.aborted) {
    try {
      const res = await request(url, {
        headers: { ...(etag ? { 'if-none-match': etag } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
        signal,
        headersTimeout: 40_000,
      });
      await res.body.dump();
      if (res.statusCode !== 200 && res.statusCode !== 304) throw new Error(`snapshot: HTTP ${res.statusCode}`);
      delay = 250;
      const next = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
      if (res.statusCode === 200 && next !== etag) {
        etag = next;
        await update(); // a no-op when the text is unchanged (e.g. the revision exported at start)
      }
    } catch (err) {
      if (signal.aborted) return;
      process.stderr.write(
        `junction export: ${junction} unreachable (${(err as Error).message}); retrying in ${delay} ms\n`,
      );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }
}
