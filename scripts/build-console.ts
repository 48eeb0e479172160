// Bundles the console (console/, SPEC §11) into dist/console with esbuild:
// one script, one stylesheet and the page, everything Junction serves at /ui/
// with no network. Run by `npm run build` (so `npm install` makes it too).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildConsole(outDir = `${root}dist/console`): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: `${root}console/app.js` },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(`${root}console/index.html`, `${outDir}/index.html`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildConsole();
