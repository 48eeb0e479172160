// A whole config applied starts a rollout too (issue 27 item 2): PUT
// /admin/config refuses one that reaches no live unit or has steps without a
// gate on errors, as `rollout start` does, unless ?force= gives the reason,
// which the revision records. Rollouts the live config already runs are not
// judged again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let a: Upstream;
let b: Upstream;
let j: Junction;
let admin: string;

const config = (rollout: Record<string, unknown> | undefined, experiment = false) => ({
  models: {
    m: {
      class: 'scorer',
      versions: {
        '1': { backend: { type: 'http', endpoints: [a.url] } },
        '2': { backend: { type: 'http', endpoints: [b.url] } },
      },
    },
  },
  objectives: {
    cw: {
      default: 'm@1',
      ...(experiment
        ? { experiments: [{ id: 'all-in', population: 1, cells: { A: { weight: 100, use: 'm@1' } } }] }
        : {}),
      ...(rollout ? { rollout } : {}),
    },
  },
});

async function put(body: unknown, query = '') {
  const res = await request(`${admin}/admin/config${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

beforeAll(async () => {
  a = await startUpstream('m1');
  b = await startUpstream('m2');
  j = await startJunction({
    port: 0,
    config: config(undefined),
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
    log: { error() {}, warn() {}, info() {} },
  });
  admin = j.control!.adminUrl!;
});
afterAll(async () => {
  await j.close();
  await a.close();
  await b.close();
});

describe('PUT /admin/config and the rollouts it starts', () => {
  it('refuses a stepped rollout without a gate on errors, and one no unit reaches; the running revision stays', async () => {
    const ungated = await put(config({ candidate: 'm@2', percent: 5, steps: [5, 25, 100] }));
    expect(ungated.status).toBe(409);
    expect(ungated.json.error.code).toBe('rollout_refused');
    expect(ungated.json.error.message).toMatch(/no health gate/);
    const unreached = await put(
      config({ candidate: 'm@2', percent: 5, steps: [5, 100], gates: { maxErrorRate: 0.01 } }, true),
    );
    expect(unreached.status).toBe(409);
    expect(unreached.json.error.message).toMatch(/no live unit reaches the rollout: experiment all-in/);
    expect(j.control!.plane.liveNumber).toBe(1);
  });

  it('applies a gated rollout; forced ones record why; a rollout already running is not judged again', async () => {
    const gated = await put(config({ candidate: 'm@2', percent: 5, steps: [5, 100], gates: { maxErrorRate: 0.01 } }));
    expect(gated.status).toBe(200);
    expect((await j.control!.plane.store.get(gated.json.revision))!.notes).toBeUndefined();

    await put(config(undefined));
    const forced = await put(
      config({ candidate: 'm@2', percent: 5, steps: [5, 100] }),
      '?force=' + encodeURIComponent('canary judged by hand on dashboards'),
    );
    expect(forced.status).toBe(200);
    expect((await j.control!.plane.store.get(forced.json.revision))!.notes).toEqual({
      forced: 'canary judged by hand on dashboards',
    });
    // The same ungated rollout, moved a step by an edit of the whole file: not a new start.
    const moved = await put(config({ candidate: 'm@2', percent: 25, steps: [5, 25, 100] }));
    expect(moved.status).toBe(200);
  });
});
