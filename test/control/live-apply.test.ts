// Config changes under full load: requests keep flowing through a real
// upstream while revisions are applied (default flips, rollouts, endpoints
// replaced so backends are built and retired); every response must be a 200.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const CONCURRENCY = 16;
const APPLIES = 6;

let ups: Upstream[];
let j: Junction;

beforeAll(async () => {
  ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream(n)));
  for (const u of ups) {
    // A little latency so requests are in flight across each swap.
    u.handle((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }, 2);
    });
  }
  j = await startJunction({
    config: twoTargets(ups[0]!.url, ups[1]!.url),
    port: 0,
    control: { data: ':memory:' },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => {
  await j.close();
  await Promise.all(ups.map((u) => u.close()));
});

describe('live apply under load', () => {
  it('zero failed requests across applies', async () => {
    const agent = new Agent({ connections: CONCURRENCY });
    const statuses = new Map<number, number>();
    const models = new Set<string>();
    let stop = false;
    let total = 0;
    const client = async () => {
      let i = 0;
      while (!stop) {
        let status = 0; // a broken connection counts as a failure too
        try {
          const res = await request(`${j.url}/v1/objectives/cw`, {
            method: 'POST',
            body: '{"x":1}',
            dispatcher: agent,
            headers: { 'x-unit-id': `u${i++}` },
          });
          await res.body.text();
          status = res.statusCode;
          models.add(String(res.headers['x-model']));
        } catch {
          // counted below
        }
        total++;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: CONCURRENCY }, client);
    const plane = j.control!.plane;
    const revisions: number[] = [];
    try {
      for (let n = 0; n < APPLIES; n++) {
        // Let traffic flow on the current revision before the next swap.
        const seen = total;
        while (total < seen + 100) await new Promise((r) => setImmediate(r));
        const second = ups[1 + (n % 2)]!.url; // m@2 moves between upstreams b and c: new backends, old ones drain
        const def = n % 2 ? 'm@1' : 'm@2';
        const extra = def === 'm@1' && n % 4 === 1 ? { rollout: { candidate: 'm@2', percent: 50 } } : {};
        const result = await plane.apply({
          source: twoTargets(ups[0]!.url, second, def, extra),
          author: 'load-test',
          message: `apply ${n}`,
        });
        revisions.push(result.revision);
      }
    } finally {
      stop = true;
      await Promise.all(clients);
      await agent.close();
    }

    expect(revisions).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: total });
    expect(models).toEqual(new Set(['m@1', 'm@2']));
    expect(ups.every((u) => u.received.length > 0)).toBe(true);
    console.log(`live apply: ${total} requests across ${APPLIES} applies, all 200`);
  });
});
