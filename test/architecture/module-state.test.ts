// The lint rule that keeps module-level mutable state out of src/
// (eslint.config.js, `moduleState`) catches the forms it claims to, and lets
// constants through. Run on text with only that rule, so it is fast.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { moduleState } from '../../eslint.config.js';

const eslint = new ESLint({
  cwd: join(import.meta.dirname, '..', '..'),
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      rules: { 'no-restricted-syntax': ['error', ...moduleState] },
      // Only this rule runs, so a `// eslint-disable-next-line <other rule> -- why` in src/ is not unused.
      linterOptions: { reportUnusedDisableDirectives: 'off' },
    },
  ],
  ignorePatterns: ['src/**/*.test.ts'],
});

async function flagged(code: string): Promise<number> {
  const [result] = await eslint.lintText(code, { filePath: 'src/x.ts' });
  return result!.messages.length;
}

describe('no module-level mutable state (eslint.config.js)', () => {
  it('src/ has none (in npm test; the whole lint runs in CI)', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    expect(results.length).toBeGreaterThan(100);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`))).toEqual([]);
  });

  it.each([
    ['let current = 0;'],
    ['export let tracer: object | undefined;'],
    ['var n = 1;'],
    ['const open = new Map<string, number>();'],
    ['export const registry = new WeakMap();'],
    ['const listeners: Array<() => void> = [];'],
    ['const cache = {};'],
    ['class Pool { static count = 0; }'],
  ])('flags %s', async (code) => {
    expect(await flagged(code)).toBe(1);
  });

  it.each([
    ['const LIMIT = 10;'],
    ["const HOP: ReadonlySet<string> = new Set(['te']);"],
    ['export const ERRORS = { internal: { status: 500 } } as const;'],
    ['function f() { let n = 0; const m = new Map(); return [n++, m]; }'],
    ['class Pool { static readonly MAX = 4; private n = 0; }'],
  ])('lets %s through', async (code) => {
    expect(await flagged(code)).toBe(0);
  });
});
