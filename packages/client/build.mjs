// Builds the package: one ESM bundle of the SDK together with the server's own
// routing core (src/routing, the config schema and its validation, the wire
// protocols), so both decide from one source; then type declarations.
// undici and zod stay external: they are the package's dependencies.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(here, 'src/index.ts')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['undici', 'zod'],
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const tsc = join(here, '../../node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.types.json')], { stdio: 'inherit' });
// tsc mirrors the repository layout (the routing core lives in ../../src): point the entry at it.
writeFileSync(join(dist, 'index.d.ts'), "export * from './types/packages/client/src/index.js';\n");
