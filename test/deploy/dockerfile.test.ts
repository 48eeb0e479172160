// deploy/Dockerfile, proven without Docker: its instructions are replayed in
// a temporary directory standing in for each stage's filesystem (COPY from the
// checkout or an earlier stage, RUN with the stage's ENV, container paths
// mapped into the stage), then its ENTRYPOINT + CMD serve a config and its
// HEALTHCHECK passes against /readyz.
//
// Two stand-ins for what the machine lacks, both the mechanisms better-sqlite3
// documents: its prebuilt addon comes from a local prebuilds folder (made from
// this checkout's build) instead of GitHub, and node-gyp uses the installed
// Node headers. Cost: one `npm ci` (from the npm cache), one TypeScript build
// and `npm prune`: about 3.5 minutes on a busy 2-core machine, so it runs in CI
// (CI set) or when asked (JUNCTION_IMAGE_TEST=1), and is skipped otherwise.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile as instructions, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.indexOf(' ');
    out.push({ op: line.slice(0, sp).toUpperCase(), args: line.slice(sp + 1).trim() });
  }
  return out;
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
}

let tmp: string;
let stages: Stage[];
let instructions: Instruction[];
const buildLog: string[] = [];
let server: ChildProcess | undefined;
let port: number;
let serverOut = '';

/** Container paths (/app, /data, /etc/junction) live under the stage's root. */
function inStage(stage: Stage, text: string): string {
  return text.replace(/(^|[\s"'=])\/(app|data|etc\/junction)\b/g, `$1${stage.root}/$2`);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

const enabled = process.env.CI !== undefined || process.env.JUNCTION_IMAGE_TEST === '1';
/** npm's complaint about the test's own stand-in variable (prebuild-install reads it, npm does not know it). */
const CONFIG_WARNING = /Unknown (project|env|user) config "(?!better-sqlite3-local-prebuilds")/;

beforeAll(async () => {
  if (!enabled) return;
  tmp = mkdtempSync(join(tmpdir(), 'junction-image-'));
  // better-sqlite3's prebuilt addon as its release asset would be named, from this checkout's build.
  const prebuilds = join(tmp, 'prebuilds');
  mkdirSync(prebuilds);
  const sqlite = JSON.parse(readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as {
    version: string;
  };
  const asset = `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await run('tar', [
    'czf',
    join(prebuilds, asset),
    '-C',
    join(ROOT, 'node_modules/better-sqlite3'),
    'build/Release/better_sqlite3.node',
  ]);
  const machineEnv = {
    npm_config_better_sqlite3_local_prebuilds: prebuilds,
    npm_config_nodedir: '/usr',
    npm_config_update_notifier: 'false',
    npm_config_prefer_offline: 'true',
  };

  instructions = parseDockerfile(readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8'));
  stages = [];
  let stage: Stage | undefined;
  for (const { op, args } of instructions) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.length}`;
      stage = {
        name,
        root: join(tmp, name),
        workdir: '/',
        env: {},
        user: 'root',
        entrypoint: [],
        cmd: [],
        healthcheck: [],
      };
      mkdirSync(stage.root);
      stages.push(stage);
      continue;
    }
    const s = stage!;
    switch (op) {
      case 'WORKDIR':
        s.workdir = args;
        mkdirSync(inStage(s, args), { recursive: true });
        break;
      case 'ENV': {
        const eq = args.indexOf('=');
        s.env[args.slice(0, eq)] = args.slice(eq + 1);
        break;
      }
      case 'COPY': {
        const parts = args.split(/\s+/);
        const from = parts[0]!.startsWith('--from=')
          ? stages.find((x) => x.name === parts.shift()!.slice(7))
          : undefined;
        const dest = parts.pop()!;
        const destPath = dest.startsWith('/') ? inStage(s, dest) : join(inStage(s, s.workdir), dest);
        for (const src of parts) {
          const srcPath = from ? inStage(from, src.startsWith('/') ? src : join(from.workdir, src)) : join(ROOT, src);
          const target = dest.endsWith('/') || parts.length > 1 ? join(destPath, src.split('/').pop()!) : destPath;
          cpSync(srcPath, target, { recursive: true, verbatimSymlinks: true });
        }
        break;
      }
      case 'RUN': {
        // The image runs as root while building; chown to the image's user is a no-op here.
        const command = inStage(s, args).replace(/\bchown\s+\S+\s+/g, 'true ');
        const { stdout, stderr } = await run('sh', ['-c', command], {
          cwd: inStage(s, s.workdir),
          env: { ...process.env, ...machineEnv, ...s.env },
          maxBuffer: 64 * 1024 * 1024,
        });
        buildLog.push(`$ ${args}\n${stdout}${stderr}`);
        break;
      }
      case 'USER':
        s.user = args;
        break;
      case 'ENTRYPOINT':
        s.entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        s.cmd = JSON.parse(args) as string[];
        break;
      case 'HEALTHCHECK':
        s.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
        break;
      default:
        break; // EXPOSE, LABEL: metadata
    }
  }

  const image = stages.at(-1)!;
  // The operator's config, mounted at /etc/junction/junction.yaml: the image's own example model.
  mkdirSync(join(image.root, 'etc/junction'), { recursive: true });
  writeFileSync(
    join(image.root, 'etc/junction/junction.yaml'),
    [
      'models:',
      `  ranker: { class: scorer, versions: { "6": { backend: { type: onnx, path: ${image.root}/app/models/ranker-6.onnx } } } }`,
      'objectives:',
      '  ranking: { interface: json, default: ranker@6 }',
      '',
    ].join('\n'),
  );
  port = await freePort();
  const [exe, ...rest] = [...image.entrypoint, ...image.cmd].map((a) => inStage(image, a));
  server = spawn(exe === 'node' ? process.execPath : exe!, [...rest, '--port', String(port), '--admin-port', '0'], {
    cwd: inStage(image, image.workdir),
    env: { PATH: process.env.PATH, HOME: tmp, ...image.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (c: Buffer) => {
    serverOut += c.toString();
  });
  server.stderr!.on('data', (c: Buffer) => {
    serverOut += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    server!.stdout!.on('data', () => {
      if (serverOut.includes('serving')) resolve();
    });
    server!.once('exit', (code) => reject(new Error(`the image's CMD exited with ${code}:\n${serverOut}`)));
  });
}, 600_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe.runIf(enabled)('deploy/Dockerfile', () => {
  it('builds: dependencies before the sources, no GPU download, no npm config warnings, dev dependencies pruned', () => {
    const build = stages[0]!;
    const log = buildLog.join('\n');
    expect(log).not.toMatch(CONFIG_WARNING);
    expect(existsSync(join(build.root, 'app/dist/index.js'))).toBe(true);
    expect(
      existsSync(
        join(build.root, 'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'),
      ),
    ).toBe(false);
    const image = stages.at(-1)!;
    expect(existsSync(join(image.root, 'app/node_modules/vitest'))).toBe(false);
    expect(existsSync(join(image.root, 'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(
      true,
    );
    // The dependency layer comes before any source is copied (a source change keeps the npm ci layer).
    const ops = instructions.map((i) => `${i.op} ${i.args}`);
    expect(ops.findIndex((o) => o.startsWith('RUN npm ci'))).toBeLessThan(
      ops.findIndex((o) => o.startsWith('COPY src')),
    );
  });

  it('runs as a non-root user and serves its CMD: /readyz answers and the HEALTHCHECK passes', async () => {
    const image = stages.at(-1)!;
    expect(image.user).not.toBe('root');
    expect(existsSync(join(ROOT, '.dockerignore'))).toBe(true);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const scored = await fetch(`http://127.0.0.1:${port}/v1/objectives/ranking`, {
      method: 'POST',
      body: JSON.stringify({ features: [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]] }),
    });
    expect(scored.headers.get('x-model')).toBe('ranker@6');
    const [exe, ...args] = image.healthcheck.map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
    await expect(run(exe === 'node' ? process.execPath : exe!, args)).resolves.toBeDefined();
  });

  it("skips onnxruntime-node's GPU download through package.json allowScripts too (a clean npm rebuild of it)", async () => {
    const build = stages[0]!;
    const { stdout, stderr } = await run('npm', ['rebuild', 'onnxruntime-node'], {
      cwd: join(build.root, 'app'),
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(`${stdout}${stderr}`).not.toMatch(CONFIG_WARNING);
    expect(
      existsSync(
        join(build.root, 'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'),
      ),
    ).toBe(false);
  });
});
