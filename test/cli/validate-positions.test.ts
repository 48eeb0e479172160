// `junction validate FILE` (issue 27 item 3): every problem in one pass, each at
// FILE:LINE:COLUMN as compilers print them, a position printed once with the
// messages found there under it; a path the file does not write says so; exit
// 1 on any problem; --json gives the same issues with line and column fields,
// the very report the admin API answers for the same text.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { checkConfigText } from '../../src/config/load.js';
import { captureOutput } from '../support/output.js';

const io = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'junction-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const text = [
  'models:', // 1
  '  m:', // 2
  '    class: scorer', // 3
  '    versions:', // 4
  '      "1": { backend: { type: http, endpoints: ["http://10.0.0.1:8000"] } }', // 5
  'objectives:', // 6
  '  cw:', // 7
  '    default: m@9', // 8
  '    policy: { timeoutMs: 10, hedgeAfterMs: 20 }', // 9
  '    rules:', // 10
  '      - { when: {}, use: m@1, extra: 1 }', // 11
  '  other:', // 12
  '    interface: json', // 13
  '',
].join('\n');

describe('junction validate prints each problem at FILE:LINE:COLUMN', () => {
  it('one line per position; messages sharing one are listed under it; exit 1', async () => {
    const path = file('bad.yaml', text);
    expect(await main(['validate', path])).toBe(1);
    expect(io.out).toBe('');
    expect(io.err).toBe(
      [
        `${path}: config refused (5 problems)`,
        `${path}:8:14  objectives.cw.default: model "m" has no version "9" (versions: 1)`,
        `${path}:9:44  objectives.cw.policy.hedgeAfterMs:`,
        '    hedgeAfterMs (20) is not below timeoutMs (10); a hedge would never be sent',
        '    hedging needs idempotent: true (a hedge sends the call twice)',
        `${path}:11:31  objectives.cw.rules[0]: unknown key "extra"; check the spelling against schema/junction.schema.json`,
        `${path}  objectives.other.default: missing: this key is required (expected string) (not written in the file)`,
        '',
      ].join('\n'),
    );
  });

  it('--json: the same issues with line and column, exit 1; the report the admin API gives for this text', async () => {
    const path = file('bad.yaml', text);
    expect(await main(['validate', path, '--json'])).toBe(1);
    const verdict = JSON.parse(io.out) as { valid: boolean; issues: unknown[] };
    expect(verdict.valid).toBe(false);
    expect(verdict.issues).toEqual(checkConfigText(text).issues);
    expect(verdict.issues).toContainEqual({
      path: 'objectives.cw.default',
      message: 'model "m" has no version "9" (versions: 1)',
      line: 8,
      column: 14,
    });
    expect(verdict.issues).toContainEqual({
      path: 'objectives.other.default',
      message: 'missing: this key is required (expected string)',
      inText: false,
    });
  });

  it('a model file that cannot be opened is placed at its path in the file, with the schema problems', async () => {
    const path = fixture('many-problems.yaml');
    expect(await main(['validate', path])).toBe(1);
    const lines = io.err.split('\n');
    expect(lines[0]).toBe(`${path}: config refused (3 problems)`);
    expect(lines[1]).toMatch(new RegExp(`^${path}:7:43  models\\.ranker\\.versions\\.9\\.backend\\.path: cannot load`));
    expect(lines[2]).toMatch(
      new RegExp(`^${path}:10:49  models\\.remote\\.versions\\.1\\.backend\\.endpoints\\[0\\]: `),
    );
    expect(lines[3]).toMatch(new RegExp(`^${path}:12:28  objectives\\.cw: unknown key "timeoutMs"`));
  });

  it('JSON too, a key written twice included', async () => {
    const json =
      '{\n  "models": {},\n  "objectives": {\n    "cw": {"default": "m@1"},\n    "cw": {"default": "m@2"}\n  }\n}\n';
    const path = file('bad.json', json);
    expect(await main(['validate', path])).toBe(1);
    expect(io.err).toBe(
      [
        `${path}: config refused (2 problems)`,
        `${path}:5:5  objectives: key "cw" is written twice; keep one (otherwise the last one silently wins)`,
        `${path}:5:23  objectives.cw.default: unknown model "m" in "m@2"; declare it under models: or fix the name`,
        '',
      ].join('\n'),
    );
  });

  it('a syntax error: its position once', async () => {
    const path = file('tab.yaml', 'models:\n\tm: {}\n');
    expect(await main(['validate', path])).toBe(1);
    expect(io.err).toBe(
      `${path}: config refused (1 problem)\n${path}:2:1  (syntax): Tabs are not allowed as indentation\n`,
    );
  });

  it('a file that cannot be read: exit 1, no position', async () => {
    const path = join(dir, 'absent.yaml');
    expect(await main(['validate', path])).toBe(1);
    expect(io.err).toMatch(new RegExp(`^${path}: config refused \\(1 problem\\)\\n${path}  \\(file\\): cannot read`));
  });

  it('a valid file: exit 0, nothing on stderr', async () => {
    expect(await main(['validate', fixture('valid.yaml')])).toBe(0);
    expect(io.out).toMatch(/valid \(1 objective, 2 targets\)/);
    expect(io.err).toBe('');
  });
});
