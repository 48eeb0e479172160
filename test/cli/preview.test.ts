// `junction apply --preview FILE` and `junction apply --acknowledge ID`, in
// process through main() against a real Junction whose decision log real
// requests wrote: the report for people and for scripts, the refusal of an
// apply that breaks an experiment, and its acknowledgement in the revision.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { bucketOf } from '../../src/routing/bucket.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const TOKEN = 'preview-cli-token';
const UNITS = Array.from({ length: 200 }, (_, i) => `unit-${i}`);
let a: Upstream;
let j: Junction;
let dir: string;
let log: string;

function config(weightA: number) {
  return {
    models: {
      m: {
        versions: {
          '1': { backend: { type: 'http', endpoints: [a.url] } },
          '2': { backend: { type: 'http', endpoints: [a.url] } },
        },
      },
    },
    objectives: {
      cw: {
        default: 'm@1',
        experiments: [
          {
            id: 'cw-42',
            population: 1,
            cells: { A: { weight: weightA, use: 'm@1' }, B: { weight: 100 - weightA, use: 'm@2' } },
          },
        ],
      },
    },
  };
}

beforeAll(async () => {
  a = await startUpstream('a');
  dir = mkdtempSync(join(tmpdir(), 'junction-preview-cli-'));
  log = join(dir, 'decisions.jsonl');
  j = await startJunction({
    config: config(50),
    port: 0,
    decisionLog: log,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  vi.stubEnv('JUNCTION_ADMIN_TOKEN', TOKEN);
  for (const unit of UNITS) {
    const res = await request(`${j.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { 'x-unit-id': unit },
      body: '{}',
    });
    await res.body.text();
  }
  const lines = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '').length;
  for (let i = 0; i < 500 && lines() < UNITS.length; i++) await new Promise((r) => setTimeout(r, 10));
  expect(lines()).toBe(UNITS.length);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await j?.close();
  await a?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await main([...argv, '--admin', j.control!.adminUrl!]);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('junction apply --preview', () => {
  // A: [0, 5000) → [0, 3000): units in [3000, 5000) move from A to B.
  const moving = () => UNITS.filter((u) => bucketOf('cw-42', u) >= 3000 && bucketOf('cw-42', u) < 5000).length;

  it('prints what would move and which experiment it breaks, changing nothing', async () => {
    const file = join(dir, 'proposed.json');
    writeFileSync(file, JSON.stringify(config(30)));
    const r = await run('apply', '--preview', file);
    expect(r.code ?? 0).toBe(0);
    expect(r.out).toContain(`${UNITS.length} logged decisions replayed`);
    expect(r.out).toContain(`BREAKS experiment cw-42: ${moving()} exposed units change cell (A → B: ${moving()})`);
    expect(r.out).toContain('applying needs --acknowledge cw-42');
    expect(j.runtime.current!.number).toBe(1);

    const json = await run('apply', '--preview', file, '--json', '--sample', '50');
    const report = JSON.parse(json.out);
    expect(report).toMatchObject({ revision: 1, sample: 50, decisions: 50 });
  });

  it('refuses to apply a change that breaks an experiment, and applies it acknowledged', async () => {
    const file = join(dir, 'proposed.json');
    writeFileSync(file, JSON.stringify(config(30)));
    const refused = await run('apply', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/cw-42/);
    expect(refused.err).toContain('--acknowledge cw-42');
    expect(j.runtime.current!.number).toBe(1);

    const applied = await run('apply', file, '--acknowledge', 'cw-42');
    expect(applied.code ?? 0).toBe(0);
    expect(applied.out).toMatch(/applied: revision 2 is live/);
    expect((await j.control!.plane.store.get(2))?.notes).toEqual({ acknowledged: ['cw-42'] });
  });
});
