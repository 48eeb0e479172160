// The decision log over real requests: one line per request with the SPEC §8 fields.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let upstream: Upstream;
let junction: Junction;
const file = join(mkdtempSync(join(tmpdir(), 'junction-dl-')), 'decisions.jsonl');

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  const backend = { type: 'http', endpoints: [upstream.url] };
  junction = await startJunction({
    port: 0,
    decisionLog: file,
    config: {
      models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        cw: {
          default: 'ranker@6',
          experiments: [
            {
              id: 'cw-42',
              when: { context: { country: ['BR'] } },
              population: 1,
              cells: { B: { weight: 100, use: 'ranker@7' } },
            },
          ],
        },
        quiet: { default: 'ranker@6', observability: { decisionLogSample: 0 } },
        shadowed: { default: 'ranker@6', shadow: [{ use: 'ranker@7', percent: 100 }] },
      },
    },
  });
});

afterAll(async () => {
  await upstream?.close();
});

async function send(objective: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await request(`${junction.url}/v1/objectives/${objective}`, { method: 'POST', headers, body: '{}' });
  await res.body.text();
}

it('writes one line per request with decision, class, status and latency', async () => {
  await send('cw', { 'x-unit-id': 'user-1', 'x-context-country': 'BR', 'x-request-id': 'r-1' });
  await send('cw', { 'x-traffic-class': 'synthetic', 'x-request-id': 'r-2' });
  await send('quiet', { 'x-request-id': 'r-3' });
  await send('missing', { 'x-request-id': 'r-4' });
  await send('shadowed', { 'x-request-id': 'r-5' });
  await junction.close(); // flushes the log

  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => l.requestId)).toEqual(['r-1', 'r-2', 'r-5']);
  const [exposed, synthetic, shadowed] = lines;
  expect(shadowed).toMatchObject({ target: 'ranker@6', shadows: [{ target: 'ranker@7', result: 'sent' }] });
  expect(exposed).toMatchObject({
    objective: 'cw',
    unit: 'user-1',
    context: { country: 'BR' },
    rule: 'experiment:cw-42',
    experiment: 'cw-42',
    cell: 'B',
    target: 'ranker@7',
    revision: 1,
    client: null,
    trafficClass: 'live',
    status: 200,
    error: null,
    fallback: null,
    shadows: [],
  });
  expect(typeof exposed!.latencyMs).toBe('number');
  expect(Number.isNaN(Date.parse(exposed!.time as string))).toBe(false);
  expect(synthetic).toMatchObject({ unit: null, rule: 'default', target: 'ranker@6', trafficClass: 'synthetic' });
});
