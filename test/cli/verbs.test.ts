// SPEC §7 for every verb: --help prints the verb's usage and does nothing
// else; --version; --json on the verbs that print data; validate finding
// every problem in one pass.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { VERB_USAGE } from '../../src/cli/usage.js';
import { captureOutput } from '../support/output.js';

const io = captureOutput();
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

describe('every verb answers --help and does nothing else', () => {
  it.each(Object.keys(VERB_USAGE))('%s --help', async (verb) => {
    // serve would listen and bench would start the benchmark: both must return at once with 0.
    expect(await main([verb, '--help'])).toBe(0);
    expect(io.out).toMatch(new RegExp(`^usage: junction ${verb}\\b`));
    expect(io.err).toBe('');
  });

  it('-h too, wherever it is among the arguments', async () => {
    expect(await main(['rollout', 'cw', 'start', '-h'])).toBe(0);
    expect(io.out).toMatch(/^usage: junction rollout OBJECTIVE/);
  });

  it("no command prints every verb's usage and exits 1; help asked for exits 0", async () => {
    expect(await main([])).toBe(1);
    for (const verb of Object.keys(VERB_USAGE)) expect(io.out).toMatch(new RegExp(`\\n  ${verb}\\b`));
    io.out = '';
    expect(await main(['--help'])).toBe(0);
    expect(io.out).toMatch(/^usage: junction <command> \[options\]/);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await main(['--version'])).toBe(0);
    expect(io.out).toBe(`${version}\n`);
  });
});

describe('--json', () => {
  it('validate --json says valid, or lists the issues with exit 1', async () => {
    expect(await main(['validate', fixture('valid.yaml'), '--json'])).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ valid: true, issues: [], objectives: 1, targets: 2 });
    io.out = '';
    expect(await main(['validate', fixture('invalid.yaml'), '--json'])).toBe(1);
    const verdict = JSON.parse(io.out) as { valid: boolean; issues: Array<{ path: string }> };
    expect(verdict.valid).toBe(false);
    expect(verdict.issues.map((i) => i.path)).toContain('objectives.o-exp.experiments[0].cells');
  });

  it('keys new --json gives the key, its digest and the config entry', async () => {
    expect(await main(['keys', 'new', '--name', 'web', '--json'])).toBe(0);
    const k = JSON.parse(io.out) as {
      client: string;
      key: string;
      keySha256: string;
      config: { clients: Record<string, { keySha256: string }> };
    };
    expect(k.client).toBe('web');
    expect(k.keySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(k.config.clients.web!.keySha256).toBe(k.keySha256);
  });
});

describe('validate reports every problem in one pass', () => {
  it('schema, endpoint URL without a scheme and a missing model file together', async () => {
    expect(await main(['validate', fixture('many-problems.yaml')])).toBe(1);
    expect(io.err).toMatch(/config refused \(3 problems\)/);
    expect(io.err).toMatch(
      /models\.remote\.versions\.1\.backend\.endpoints\[0\]: expected an http:\/\/ or https:\/\/ URL/,
    );
    expect(io.err).toMatch(/objectives\.cw: unknown key "timeoutMs"/);
    expect(io.err).toMatch(/models\.ranker\.versions\.9\.backend\.path: cannot load ONNX model/);
  });
});
