// Decide-mode exposures: POST /v1/decide writes decision-log lines (via "decide")
// through the same log as served requests, sampled per objective, and request
// metrics do not count them.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { injectedRequest } from '../support/inject.js';

let upstream: Upstream;
let junction: Junction;
const request = injectedRequest(() => junction);
const file = join(mkdtempSync(join(tmpdir(), 'junction-decide-')), 'decisions.jsonl');

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  const backend = { type: 'http', endpoints: [upstream.url] };
  junction = await startJunction({
    listen: false,
    decisionLog: file,
    config: {
      models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        'dx-ranking': {
          default: 'ranker@6',
          experiments: [
            {
              id: 'dx-1',
              when: { context: { country: ['BR'] } },
              population: 1,
              cells: { B: { weight: 100, use: 'ranker@7' } },
            },
          ],
        },
        'dx-quiet': { default: 'ranker@6', observability: { decisionLogSample: 0 } },
      },
    },
  });
});

afterAll(async () => {
  await upstream?.close();
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${junction.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function requestsCounted(objective: string): Promise<number> {
  const res = await request(`${junction.url}/metrics`);
  const samples = parsePrometheus(await res.body.text());
  return samples
    .filter((s) => s.name === 'junction_requests_total' && s.labels.objective === objective)
    .reduce((n, s) => n + s.value, 0);
}

it('logs one line per decided item (single and batch) with rule, experiment, cell, unit and traffic class', async () => {
  const one = await post(
    '/v1/decide',
    { objective: 'dx-ranking', unit: 'user-1', context: { country: 'BR' } },
    { 'x-request-id': 'd-1' },
  );
  expect(one.status).toBe(200);
  const batch = await post(
    '/v1/decide',
    {
      requests: [
        { objective: 'dx-ranking', unit: 'user-2', trafficClass: 'test' },
        { objective: 'dx-quiet', unit: 'user-3' }, // sampled out (decisionLogSample: 0)
        { objective: 'dx-missing', unit: 'user-4' }, // no objective: no exposure
        { objective: 'dx-ranking', unit: 7 }, // the item's error is logged
      ],
    },
    { 'x-request-id': 'd-2' },
  );
  expect(batch.status).toBe(200);
  // An invoke alongside, through the same log.
  const served = await request(`${junction.url}/v1/objectives/dx-ranking`, {
    method: 'POST',
    headers: { 'x-request-id': 'i-1', 'x-unit-id': 'user-5' },
    body: '{}',
  });
  await served.body.text();

  // Decide items are not objective requests: only the one invoke is counted.
  expect(await requestsCounted('dx-ranking')).toBe(1);
  expect(await requestsCounted('dx-quiet')).toBe(0);
  const samples = parsePrometheus(await (await request(`${junction.url}/metrics`)).body.text());
  expect(sampleValue(samples, 'junction_inflight_requests', { objective: 'dx-ranking' })).toBe(0);

  await junction.close(); // flushes the log
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => [l.requestId, l.via, l.objective, l.unit])).toEqual([
    ['d-1', 'decide', 'dx-ranking', 'user-1'],
    ['d-2', 'decide', 'dx-ranking', 'user-2'],
    ['d-2', 'decide', 'dx-ranking', null],
    ['i-1', 'invoke', 'dx-ranking', 'user-5'],
  ]);
  const [exposed, tested, failed, invoked] = lines;
  expect(exposed).toMatchObject({
    context: { country: 'BR' },
    rule: 'experiment:dx-1',
    experiment: 'dx-1',
    cell: 'B',
    target: 'ranker@7',
    revision: 1,
    client: null,
    trafficClass: 'live',
    status: 200,
    error: null,
    latencyMs: null,
    fallback: null,
    shadows: [],
  });
  expect(tested).toMatchObject({
    rule: 'default',
    experiment: null,
    cell: null,
    target: 'ranker@6',
    trafficClass: 'test',
    status: 200,
    latencyMs: null,
  });
  expect(failed).toMatchObject({ rule: null, target: null, status: 400, error: 'invalid_request', latencyMs: null });
  expect(invoked).toMatchObject({ rule: 'default', target: 'ranker@6', status: 200 });
  expect(typeof invoked!.latencyMs).toBe('number');
});
