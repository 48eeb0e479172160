// The layering rules of .dependency-cruiser.cjs hold for src/, and they catch
// what they are for: the same rules run on a planted tree with one violation of
// each kind must report each one (a rule that never fires protects nothing).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as {
  forbidden: NonNullable<ICruiseOptions['ruleSet']>['forbidden'];
  options: ICruiseOptions;
};

async function violations(baseDir: string): Promise<string[]> {
  const { tsConfig: _file, ...options } = config.options as ICruiseOptions & { tsConfig?: unknown };
  const result = await cruise(
    ['src'],
    {
      ...options,
      baseDir,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      tsConfig: { fileName: join(root, 'tsconfig.json') },
    },
    undefined,
    { tsConfig: extractTSConfig(join(root, 'tsconfig.json')) },
  );
  if (typeof result.output === 'string') throw new Error(result.output);
  return result.output.summary.violations.map((v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('layers (.dependency-cruiser.cjs)', () => {
  it('src/ has no violation', async () => {
    expect(await violations(root)).toEqual([]);
  });

  const planted = mkdtempSync(join(tmpdir(), 'junction-layers-'));
  afterAll(() => rmSync(planted, { recursive: true, force: true }));
  const plant = (path: string, text: string) => {
    mkdirSync(dirname(join(planted, path)), { recursive: true });
    writeFileSync(join(planted, path), text);
  };

  it('catches an upward import, I/O reached from routing/, and a module outside every layer', async () => {
    plant('src/errors.ts', 'export const E = 1;\n');
    plant('src/faces/server.ts', 'export const S = 1;\n');
    // config/ reaching up into faces/ (the kind of edge that made 9 folders one cycle).
    plant('src/config/load.ts', "import { S } from '../faces/server.js';\nexport const L = S;\n");
    // routing/ reaching the filesystem through a helper of its own.
    plant('src/routing/decide.ts', "import { read } from './helper.js';\nexport const D = read;\n");
    plant('src/routing/helper.ts', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
    // a new folder nobody placed in the layers.
    plant('src/gadgets/thing.ts', "import { E } from '../errors.js';\nexport const T = E;\n");
    // the contract importing a type from an upper layer (types count).
    plant('src/call/types.ts', "import type { S } from '../faces/server.js';\nexport type C = typeof S;\n");

    const found = await violations(planted);
    expect(found).toContain('layer-config: src/config/load.ts → src/faces/server.ts');
    expect(found).toContain('routing-no-io: src/routing/decide.ts → fs');
    expect(found).toContain('in-a-layer: src/gadgets/thing.ts → src/errors.ts');
    expect(found).toContain('layer-contract: src/call/types.ts → src/faces/server.ts');
  });
});
