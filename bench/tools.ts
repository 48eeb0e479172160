// Process and load-generator plumbing for the HTTP benchmarks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function start(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  child.on('error', (err) => console.error(`${cmd}: ${err.message}`));
  return child;
}

/**
 * `junction serve` as a process of its own, from dist/ (`npm run bench` builds
 * it first), on 127.0.0.1 with `config` and a store under `data`; `args`
 * adds flags (a decision log, a gRPC port, workers).
 */
export function startJunctionServe(opts: {
  config: string;
  port: number;
  data: string;
  args?: readonly string[];
  bin?: string;
}): ChildProcess {
  return start(process.execPath, [
    opts.bin ?? join(root, 'bin/junction.js'),
    'serve',
    '--config',
    opts.config,
    '--port',
    String(opts.port),
    '--host',
    '127.0.0.1',
    '--data',
    opts.data,
    ...(opts.args ?? []),
  ]);
}

/**
 * A bench server in TypeScript compiled to plain JavaScript, to run with bare
 * `node` as Junction runs from dist/ (a loader like tsx in the process turns on
 * source maps and slows a proxy measurably). Written under the project's
 * .cache/ (gitignored; node_modules may be shared with other checkouts), where
 * its package imports still resolve from the project.
 */
export function compiled(tsFile: string, outDir = '.cache/bench'): string {
  const dir = join(root, outDir);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, basename(tsFile).replace(/\.ts$/, '.mjs'));
  buildSync({
    entryPoints: [tsFile],
    outfile: out,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  return out;
}

/** Polls until the URL answers (any status) or fails after 15 s. */
export async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(url, { method: 'GET' });
      await res.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not come up`);
      await sleep(50);
    }
  }
}

export interface LoadResult {
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** wrk with a POST body and headers; latency percentiles from --latency. */
export function wrk(
  url: string,
  opts: { connections: number; seconds: number; threads?: number; luaFile: string },
): LoadResult {
  const out = spawnSync(
    'wrk',
    [
      '-t',
      String(opts.threads ?? 1),
      '-c',
      String(opts.connections),
      '-d',
      `${opts.seconds}s`,
      '--latency',
      '-s',
      opts.luaFile,
      url,
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  const text = out.stdout;
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors =
    (Number.isNaN(non2xx) ? 0 : non2xx) + (sockErr ? sockErr.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50ms: pct('50'),
    p99ms: pct('99'),
    errors,
  };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node.js runs on. */
const TICKS_PER_SECOND = 100;

/**
 * CPU time a process has used so far (user and system, all its threads: the
 * event loop, GC helpers, the thread pool), in ms; undefined off Linux. A
 * throughput ratio on a shared machine also measures who got scheduled; CPU
 * per request does not.
 */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

export function stop(children: ChildProcess[]): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

/** The wrk script every HTTP bench uses: the same POST body, units spread over 5,000 users. */
export function wrkPostScript(extraHeaders: Record<string, string> = {}): string {
  const extra = Object.entries(extraHeaders)
    .map(([k, v]) => `  wrk.headers["${k}"] = "${v}"\n`)
    .join('');
  return `
wrk.method = "POST"
wrk.body = '{"user":"user-1","titles":[101,202,303,404]}'
wrk.headers["content-type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  wrk.headers["x-unit-id"] = "user-" .. (counter % 5000)
${extra}  return wrk.format(nil)
end
`;
}

/** An nginx main config (one worker, its own pid, logs and temp paths under `dir/name`) around an `http {}` body. */
export function nginxMainConfig(dir: string, name: string, httpBody: string): string {
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  return `
worker_processes 1;
pid ${at}/nginx.pid;
error_log ${at}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${at}/body; proxy_temp_path ${at}/proxy;
  fastcgi_temp_path ${at}/fcgi; uwsgi_temp_path ${at}/uwsgi; scgi_temp_path ${at}/scgi;
${httpBody}
}`;
}

/**
 * The benches' two upstreams (`ranker@6`, `ranker@7`): nginx returning a fixed
 * JSON body, in an nginx of its own, so that a proxy under test (nginx
 * included) never shares a worker with them and pays for their CPU.
 */
export function startFixedUpstreams(dir: string, up1: number, up2: number): ChildProcess {
  const conf = join(dir, 'upstreams.conf');
  writeFileSync(
    conf,
    nginxMainConfig(
      dir,
      'upstreams',
      `  server { listen 127.0.0.1:${up1}; location / { default_type application/json; return 200 '{"scores":[0.91,0.42,0.17]}'; } }
  server { listen 127.0.0.1:${up2}; location / { default_type application/json; return 200 '{"scores":[0.88,0.47,0.12]}'; } }`,
    ),
  );
  return start('nginx', ['-c', conf, '-g', 'daemon off;']);
}
