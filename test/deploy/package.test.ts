// The library entry point as an embedder gets it: `npm pack`, unpacked into a
// fresh node_modules/junction-router, then `import { startJunction } from 'junction-router'`
// at run time and its types under TypeScript's node16+ resolution.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  dir = mkdtempSync(join(tmpdir(), 'junction-pack-'));
  // --ignore-scripts: dist/ is built above; `prepare` would build it again.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Array<{ filename: string }>;
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'junction-router'), { recursive: true });
  execFileSync('tar', [
    'xzf',
    join(dir, packed[0]!.filename),
    '-C',
    join(modules, 'junction-router'),
    '--strip-components=1',
  ]);
  // The dependencies an install would bring, from this checkout (no registry needed).
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === 'junction-router' || entry === '.bin' || entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  writeFileSync(join(dir, 'package.json'), '{ "name": "embedder", "private": true, "type": "module" }\n');
}, 180_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('package entry point', () => {
  it('the tarball holds the compiled library, its types, the CLI and the example models, not the tests', () => {
    const files = readdirSync(join(dir, 'node_modules/junction-router/dist'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(existsSync(join(dir, 'node_modules/junction-router/bin/junction.js'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/junction-router/models/ranker-6.onnx'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/junction-router/test'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/junction-router/src'))).toBe(false);
  });

  it('import { startJunction } from "junction-router" starts a Junction that answers', () => {
    writeFileSync(
      join(dir, 'embed.mjs'),
      [
        "import { startJunction } from 'junction-router';",
        'const j = await startJunction({ port: 0, metrics: false, tracing: false });',
        'const res = await fetch(`${j.url}/healthz`);',
        'console.log(res.status);',
        'await j.close();',
      ].join('\n'),
    );
    expect(execFileSync(process.execPath, ['embed.mjs'], { cwd: dir, encoding: 'utf8' }).trim()).toBe('200');
  });

  it('its types resolve for a TypeScript embedder (module nodenext)', () => {
    writeFileSync(
      join(dir, 'embed.ts'),
      [
        "import { startJunction, type Junction, type JunctionOptions } from 'junction-router';",
        'const opts: JunctionOptions = { port: 0, config: { models: {}, objectives: {} } };',
        'export const started: Promise<Junction> = startJunction(opts);',
        '// @ts-expect-error: a port is a number',
        "startJunction({ port: '8080' });",
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    execFileSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        'embed.ts',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
  });
});
