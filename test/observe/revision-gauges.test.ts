// Config-derived gauges follow the revision being served: a rollout that is gone
// and an endpoint no backend uses any more stop being exported.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { parsePrometheus, type Sample } from '../support/prometheus.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { injectedRequest } from '../support/inject.js';

let a: Upstream;
let b: Upstream;
let junction: Junction;
const request = injectedRequest(() => junction);

function config(opts: { rollout?: number; v7?: string; connections?: number }) {
  const backend = (url: string) => ({
    type: 'http',
    endpoints: [url],
    ...(opts.connections ? { connections: opts.connections } : {}),
  });
  return {
    models: { gauged: { versions: { '6': { backend: backend(a.url) }, '7': { backend: backend(opts.v7 ?? a.url) } } } },
    objectives: {
      'rg-ranking': {
        default: 'gauged@6',
        ...(opts.rollout === undefined ? {} : { rollout: { candidate: 'gauged@7', percent: opts.rollout } }),
      },
    },
  };
}

let revision = 1;
async function apply(c: unknown): Promise<void> {
  await junction.runtime.apply(validateConfig(c), { number: ++revision, source: c, baseDir: '.' });
}

async function series(name: string): Promise<Sample[]> {
  const res = await request(`${junction.url}/metrics`);
  return parsePrometheus(await res.body.text()).filter((s) => s.name === name);
}

beforeAll(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  junction = await startJunction({ listen: false, config: config({ rollout: 20 }) });
});

afterAll(async () => {
  await junction?.close();
  await a?.close();
  await b?.close();
});

it('junction_rollout_percent follows the revision and goes away with the rollout', async () => {
  const rollout = async () =>
    (await series('junction_rollout_percent')).filter((s) => s.labels.objective === 'rg-ranking');
  expect(await rollout()).toEqual([
    { name: 'junction_rollout_percent', labels: { objective: 'rg-ranking', candidate: 'gauged@7' }, value: 20 },
  ]);
  await apply(config({ rollout: 50 }));
  expect((await rollout()).map((s) => s.value)).toEqual([50]);
  await apply(config({}));
  expect(await rollout()).toEqual([]);
});

it('junction_endpoint_healthy of a closed backend goes away; a rebuilt backend on the same endpoint keeps it', async () => {
  const healthy = async () =>
    (await series('junction_endpoint_healthy'))
      .filter((s) => s.labels.backend?.startsWith('gauged@'))
      .map((s) => `${s.labels.backend} ${s.labels.endpoint} ${s.value}`)
      .sort();
  expect(await healthy()).toEqual([`gauged@6 ${a.url} 1`, `gauged@7 ${a.url} 1`]);

  // gauged@7 moves to upstream b: its backend on a is closed once the old revision drains.
  await apply(config({ v7: b.url }));
  expect(await healthy()).toEqual([`gauged@6 ${a.url} 1`, `gauged@7 ${b.url} 1`]);

  // A backend config change rebuilds both backends on the same endpoints: the old ones close after the new ones opened.
  await apply(config({ v7: b.url, connections: 4 }));
  expect(await healthy()).toEqual([`gauged@6 ${a.url} 1`, `gauged@7 ${b.url} 1`]);
});
