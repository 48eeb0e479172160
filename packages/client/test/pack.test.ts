// `npm pack` gives a working, self-contained package: its own README, types and
// a bundle that decides against a real Junction from outside this repository.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../../src/app.js';
import { REPO_ROOT } from '../../../test/support/onnx.js';

let j: Junction;
const app = mkdtempSync(join(tmpdir(), 'junction-client-pack-'));

beforeAll(async () => {
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
      objectives: { cw: { default: 'm@1', rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@2' }] } },
    },
  });
}, 120_000);
afterAll(async () => j?.close());

it('packs README, bundle and types only, and the packed package decides from outside the repository', async () => {
  const out = execFileSync(
    'npm',
    ['pack', '--workspace', 'junction-router-client', '--pack-destination', app, '--json', '--silent'],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path).sort();
  expect(files).toEqual(expect.arrayContaining(['README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
  expect(files.filter((f) => !f.startsWith('dist/') && !['README.md', 'package.json'].includes(f))).toEqual([]);

  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'junction-router-client'), { recursive: true });
  execFileSync('tar', [
    '-xzf',
    join(app, info!.filename),
    '-C',
    join(modules, 'junction-router-client'),
    '--strip-components=1',
  ]);
  // Its declared dependencies, as npm would install them; nothing else from this repository.
  for (const dep of ['undici', 'zod']) symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(modules, dep));
  mkdirSync(join(modules, '@types'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(modules, '@types', 'node'));

  writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  writeFileSync(
    join(app, 'check.ts'),
    [
      "import { JunctionClient, type Decision } from 'junction-router-client';",
      'const jc = await JunctionClient.connect({ url: process.argv[2]!, exposures: false });',
      "const d: Decision = jc.decide('cw', { unit: 'user-1', context: { country: 'BR' } });",
      'console.log(JSON.stringify({ target: d.target, rule: d.rule, header: d.headers["x-junction-target"] }));',
      'await jc.close();',
    ].join('\n'),
  );
  // The published types check on their own, strictly (no skipLibCheck), as a user's project would.
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      'check.ts',
    ],
    { cwd: app, encoding: 'utf8' },
  );
  writeFileSync(
    join(app, 'check.mjs'),
    readFileSync(join(app, 'check.ts'), 'utf8')
      .replace(', type Decision', '')
      .replace(': Decision', '')
      .replace('!', ''),
  );
  // Asynchronously: the Junction it talks to runs in this process.
  const { stdout: printed } = await promisify(execFile)(process.execPath, ['check.mjs', j.url], {
    cwd: app,
    encoding: 'utf8',
  });
  expect(JSON.parse(printed)).toEqual({ target: 'm@2', rule: 'rule:br', header: 'm@2' });
  expect(existsSync(join(modules, 'junction-router-client', 'src'))).toBe(false);
}, 300_000);
