// What an override may name (issue 22, finding 8): a key limited to one
// objective, with allowOverride, reached ranker@8, a version only another
// objective (one the key may not call) routed to. The rule now: an override
// names only a target the objective being called uses (default, pins, rules,
// experiment cells, rollout candidate, fallbacks, shadows) or opens in its
// `overrideTargets`. Through the data plane's own handler (inject).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { rawModels } from '../support/configs.js';
import { injectedRequest } from '../support/inject.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const KEY = newKey();
let v6: Upstream;
let v7: Upstream;
let v8: Upstream;
const junctions: Junction[] = [];

beforeAll(async () => {
  [v6, v7, v8] = await Promise.all([startUpstream('v6'), startUpstream('v7'), startUpstream('v8')]);
});
afterEach(async () => {
  await Promise.all(junctions.splice(0).map((j) => j.close()));
});
afterAll(async () => {
  await Promise.all([v6.close(), v7.close(), v8.close()]);
});

function config(cw: Record<string, unknown> = {}): ConfigInput {
  return {
    models: rawModels({ 'ranker@6': [v6.url], 'ranker@7': [v7.url], 'ranker@8': [v8.url] }),
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
        ...cw,
      },
      // ranker@8 is only `search`'s, which the key may not call.
      search: { default: 'ranker@6', rollout: { candidate: 'ranker@8', percent: 5 } },
    },
    clients: { tester: { keySha256: keyDigest(KEY), objectives: ['cw'], allowOverride: true } },
  };
}

async function junction(c: ConfigInput): Promise<Junction> {
  const j = await startJunction({ config: c, listen: false, log: { error() {}, warn() {}, info() {} } });
  junctions.push(j);
  return j;
}

async function post(j: Junction, path: string, override: string) {
  const r = await injectedRequest(() => j)(`${j.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'x-model-override': override },
    body: '{}',
  });
  const text = await r.body.text();
  return { status: r.statusCode, code: r.headers['x-error-code'], model: r.headers['x-model'], text };
}

describe('an override names only what the objective called uses or opens', () => {
  it("refuses a version only an objective the key may not call uses (the issue's case)", async () => {
    const j = await junction(config());
    const before = v8.received.length;
    const r = await post(j, '/v1/objectives/cw', 'ranker@8');
    expect(r.status).toBe(403);
    expect(r.code).toBe('override_forbidden');
    expect(r.text).toContain('overrideTargets');
    expect(v8.received.length).toBe(before);
    // The key's own objective's targets stay reachable.
    const ok = await post(j, '/v1/objectives/cw', 'ranker@7');
    expect([ok.status, ok.model]).toEqual([200, 'ranker@7']);
    // And the other objective is not the key's at all.
    expect((await post(j, '/v1/objectives/search', 'ranker@8')).code).toBe('forbidden');
  });

  it('allows a version the operator opened for override testing on that objective', async () => {
    const j = await junction(config({ overrideTargets: ['ranker@8'] }));
    const r = await post(j, '/v1/objectives/cw', 'ranker@8');
    expect([r.status, r.model]).toEqual([200, 'ranker@8']);
    expect(v8.received.length).toBeGreaterThan(0);
  });
});
