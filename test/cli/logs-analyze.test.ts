// `junction analyze` over several replicas' rotated logs: a quoted glob reads
// every replica's file and, for each, the files it was rotated into; the admin
// results of a Junction whose log rotates read its rotated files too.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/output.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const io = captureOutput();
const root = mkdtempSync(join(tmpdir(), 'junction-logs-analyze-'));
const REQUESTS = { r1: 300, r2: 200 };
let upstream: Upstream;
let r1: Junction;

function replica(name: string, control: boolean): Promise<Junction> {
  const backend = { type: 'http', endpoints: [upstream.url] };
  mkdirSync(join(root, name));
  return startJunction({
    listen: false,
    decisionLog: join(root, name, 'decisions.jsonl'),
    logRotation: { maxBytes: 8 * 1024 },
    config: {
      models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        cw: {
          default: 'ranker@6',
          experiments: [
            {
              id: 'cw-42',
              population: 1,
              cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
            },
          ],
        },
      },
    },
    control: control ? { data: ':memory:', admin: { port: 0, insecure: true } } : undefined,
    log: { error() {}, warn() {}, info() {} },
  });
}

async function send(j: Junction, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, k) =>
        j.inject({
          method: 'POST',
          url: '/v1/objectives/cw',
          headers: { 'x-unit-id': `${prefix}-${i + k}` },
          body: '{}',
        }),
      ),
    );
  }
}

/** Lines in a replica's folder, live and rotated. */
function linesIn(name: string): number {
  const dir = join(root, name);
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').split('\n').length - 1, 0);
}

interface Cells {
  experiments: Array<{ cells: Array<{ cell: string; units: number }> }>;
}
const units = (r: Cells) => r.experiments[0]!.cells.reduce((n, c) => n + c.units, 0);

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  r1 = await replica('r1', true);
  const r2 = await replica('r2', false);
  await Promise.all([send(r1, 'u', REQUESTS.r1), send(r2, 'v', REQUESTS.r2)]);
  await r2.close();
  // r1 keeps serving its admin API; its lines are in the files once the writer has flushed them.
  for (let i = 0; i < 500 && linesIn('r1') < REQUESTS.r1; i++) await new Promise((r) => setTimeout(r, 10));
}, 120_000); // hundreds of requests through real Junctions, on a loaded machine
afterAll(async () => {
  await r1?.close();
  await upstream?.close();
});

describe('analyze over several replicas and rotated files', () => {
  it('GET /admin/experiments/{id}/results reads the rotated files of the log it writes', async () => {
    expect(readdirSync(join(root, 'r1')).length).toBeGreaterThan(5);
    const res = await request(`${r1.control!.adminUrl}/admin/experiments/cw-42/results`);
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as { experiment: Cells['experiments'][0] };
    expect(units({ experiments: [body.experiment] })).toBe(REQUESTS.r1);
  });

  it('a quoted glob reads every replica with its rotated files, the same as naming every file', async () => {
    expect(
      await main(['analyze', '--decisions', join(root, '*/decisions.jsonl'), '--experiment', 'cw-42', '--json']),
    ).toBe(0);
    const byGlob = JSON.parse(io.out) as Cells;
    expect(units(byGlob)).toBe(REQUESTS.r1 + REQUESTS.r2);

    io.out = '';
    const every = ['r1', 'r2'].flatMap((r) => readdirSync(join(root, r)).map((f) => join(root, r, f)));
    expect(await main(['analyze', '--decisions', ...every, '--experiment', 'cw-42', '--json'])).toBe(0);
    expect((JSON.parse(io.out) as Cells).experiments[0]!.cells).toEqual(byGlob.experiments[0]!.cells);
  });

  it("a glob that matches nothing is the user's error", async () => {
    expect(await main(['analyze', '--decisions', join(root, '*/nothing.jsonl')])).toBe(1);
    expect(io.err).toContain(`no such file: ${join(root, '*/nothing.jsonl')}`);
  });
});
