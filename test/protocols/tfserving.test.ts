// The tfserving protocol end to end over real sockets: Junction in front of a
// TF Serving-like server (test/support/servers/tfserving.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startTfServingServer, type TfServingServer } from '../support/servers/tfserving.js';
import { lastTraffic } from '../support/servers/traffic.js';
import { recordHealthEvents } from '../support/health-events.js';

describe('tfserving protocol', () => {
  let tfs: TfServingServer;
  let junction: Junction;
  const health = recordHealthEvents();

  beforeAll(async () => {
    tfs = await startTfServingServer();
    const backend = (extra: object) => ({
      backend: {
        type: 'http',
        protocol: 'tfserving',
        endpoints: [tfs.url],
        model: 'half_plus_two',
        health: { intervalMs: 100 },
        ...extra,
      },
    });
    junction = await startJunction({
      telemetry: health.sink,
      port: 0,
      config: {
        models: { hpt: { versions: { '2': backend({}), stable: backend({}), latest: backend({ version: '' }) } } },
        objectives: {
          scores: { default: 'hpt@2', allowOverride: true, overrideTargets: ['hpt@stable', 'hpt@latest'] },
        },
      },
    });
  });
  afterAll(async () => {
    await junction.close();
    await tfs.close();
  });

  const predict = (override?: string) =>
    request(`${junction.url}/v1/objectives/scores`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(override ? { 'x-model-override': override } : {}) },
      body: JSON.stringify({ instances: [1, 2, 5] }),
    });

  it('rewrites to /v1/models/{name}/versions/{v}:predict and streams the answer back', async () => {
    const res = await predict();
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ predictions: [2.5, 3, 4.5] });
    expect(lastTraffic(tfs).url).toBe('/v1/models/half_plus_two/versions/2:predict');
  });

  it('maps a non-numeric version to a label and an empty one to the unversioned path', async () => {
    expect((await predict('hpt@stable')).statusCode).toBe(200);
    expect(lastTraffic(tfs).url).toBe('/v1/models/half_plus_two/labels/stable:predict');
    expect((await predict('hpt@latest')).statusCode).toBe(200);
    expect(lastTraffic(tfs).url).toBe('/v1/models/half_plus_two:predict');
  });

  it('is ready only while a version is AVAILABLE', async () => {
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(200);
    const down = health.next('hpt@2', false);
    tfs.ready = false;
    await down;
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(503);
    const up = health.next('hpt@2', true);
    tfs.ready = true;
    await up;
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(200);
  });
});
