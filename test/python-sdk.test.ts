// The Python SDK (clients/python, junction-router-client) in the suite: its pytest tests, which
// start real Junctions from this repository's source (the SPEC §3 vectors, the 100,000-unit
// differential test, fail-static, threads, fork, asyncio), and its wheel: built with Debian's
// setuptools, installed into a fresh virtual environment from the file alone, and deciding
// against a real Junction from outside the repository. Without Python 3.10+ and pytest the file
// skips, unless CI or JUNCTION_REQUIRE_SERVICES says they must be there (.ci/run installs them).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../src/app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REQUIRED = process.env.CI !== undefined || process.env.JUNCTION_REQUIRE_SERVICES !== undefined;

/** Exits 0 when `python` runs `code`. */
function runs(python: string, code: string): boolean {
  return spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Debian's python3 first (what .ci/run installs packages for), then the one on PATH. */
function findPython(modules: string): string | undefined {
  const candidates = [process.env.JUNCTION_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (p): p is string => p !== undefined && p !== '',
  );
  return candidates.find((p) => runs(p, `import sys; assert sys.version_info >= (3, 10); import ${modules}`));
}

const PYTEST = findPython('pytest');
const BUILDER = findPython('setuptools, wheel, venv, ensurepip');

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the Python SDK', () => {
  const missing = (what: string) =>
    `${what} is missing: install Debian's python3, python3-pytest, python3-venv, python3-setuptools, python3-wheel (and python3-httpx)`;

  it.skipIf(PYTEST === undefined && !REQUIRED)(
    'passes its pytest suite against real Junctions',
    async () => {
      if (PYTEST === undefined) throw new Error(missing('Python 3.10+ with pytest'));
      const { code, out } = await run(
        PYTEST,
        ['-m', 'pytest', 'clients/python/tests', '-q', '-p', 'no:cacheprovider'],
        {
          cwd: ROOT,
        },
      );
      if (code !== 0) console.error(out); // pytest's own report: which test, what it expected
      expect(code, out.slice(-4000)).toBe(0);
    },
    600_000,
  );

  describe('its wheel, installed alone in a fresh virtual environment', () => {
    const work = mkdtempSync(join(tmpdir(), 'junction-python-wheel-'));
    let j: Junction | undefined;
    afterAll(async () => {
      await j?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it.skipIf(BUILDER === undefined && !REQUIRED)(
      'builds, installs from the file with no index, and decides as the server does',
      async () => {
        if (BUILDER === undefined) throw new Error(missing('Python 3.10+ with setuptools, wheel and venv'));
        // Built from a copy: nothing (build/, *.egg-info) lands in the checkout.
        const src = join(work, 'src');
        cpSync(join(ROOT, 'clients/python'), src, {
          recursive: true,
          filter: (p) => !/(__pycache__|\.egg-info|[/\\](build|dist|tests|bench)$)/.test(p),
        });
        const dist = join(work, 'dist');
        const build = runs(BUILDER, 'import build')
          ? ['-m', 'build', '--wheel', '--no-isolation', '--outdir', dist, src]
          : ['-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--wheel-dir', dist, src];
        const built = await run(BUILDER, build, { cwd: work });
        expect(built.code, built.out).toBe(0);
        const wheels = readdirSync(dist).filter((f) => f.endsWith('.whl'));
        expect(wheels).toEqual([expect.stringMatching(/^junction_router_client-[\d.]+-py3-none-any\.whl$/)]);

        const venv = join(work, 'venv');
        const made = await run(BUILDER, ['-m', 'venv', venv], { cwd: work });
        expect(made.code, made.out).toBe(0);
        const py = join(venv, 'bin', 'python');
        const installed = await run(py, ['-m', 'pip', 'install', '--no-index', '--no-deps', join(dist, wheels[0]!)], {
          cwd: work,
        });
        expect(installed.code, installed.out).toBe(0);

        j = await startJunction({
          port: 0,
          log: { error() {}, warn() {}, info() {} },
          config: {
            models: {
              m: {
                versions: {
                  '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } },
                  '2': { backend: { type: 'http', endpoints: ['http://127.0.0.1:10'] } },
                },
              },
            },
            objectives: {
              cw: {
                default: 'm@1',
                rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@2' }],
                experiments: [
                  { id: 'e', population: 0.5, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
                ],
              },
            },
          },
        });
        const units = Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? `ユーザー-${i}` : `user-${i}`));
        const smoke = join(work, 'smoke.py');
        writeFileSync(
          smoke,
          [
            'import json, sys',
            'import junction_client',
            'from junction_client import JunctionClient',
            'assert junction_client.__file__.startswith(sys.prefix), junction_client.__file__',
            'units = json.loads(sys.argv[2])',
            'with JunctionClient.connect(sys.argv[1], exposures=False) as jc:',
            '    out = [[d.target, d.rule, d.cell] for d in (jc.decide("cw", unit=u, context={"country": "BR" if i % 7 == 0 else "US"}) for i, u in enumerate(units))]',
            'print(json.dumps(out))',
          ].join('\n'),
        );
        // -I: isolated, so nothing but the venv's own site-packages can supply the package.
        const ran = await run(py, ['-I', smoke, j.url, JSON.stringify(units)], { cwd: work });
        expect(ran.code, ran.out).toBe(0);
        const local = JSON.parse(ran.out) as Array<[string, string, string | null]>;
        const res = await fetch(`${j.url}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            requests: units.map((unit, i) => ({
              objective: 'cw',
              unit,
              context: { country: i % 7 === 0 ? 'BR' : 'US' },
            })),
          }),
        });
        const server = (
          (await res.json()) as { decisions: Array<{ target: string; rule: string; cell: string | null }> }
        ).decisions;
        expect(local).toEqual(server.map((d) => [d.target, d.rule, d.cell]));
        expect(new Set(local.map((d) => d[1]))).toEqual(new Set(['rule:br', 'experiment:e', 'default']));
      },
      300_000,
    );
  });
});
