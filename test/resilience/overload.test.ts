// Bulkheads over real sockets: beyond maxConcurrency (and the small queue) an
// immediate 503 overloaded, never a hang; under overload sheddable clients are
// refused first and critical ones last; a client's own cap is released when
// its response ends, whatever the outcome.
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { oneObjective } from '../support/configs.js';
import { recordTelemetry } from '../support/telemetry.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const telemetry = recordTelemetry();
let upstream: Upstream;
const held: ServerResponse[] = [];
const junctions: Junction[] = [];

beforeAll(async () => {
  upstream = await startUpstream('held');
  upstream.handle((_req, res) => {
    held.push(res);
  });
});
afterEach(async () => {
  releaseAll();
  await Promise.all(junctions.splice(0).map((j) => j.close()));
  telemetry.clear();
});
afterAll(() => upstream.close());

function releaseAll() {
  for (const res of held.splice(0)) {
    res.writeHead(200);
    res.end('released');
  }
}

const clients = {
  crit: { keySha256: keyDigest('k-crit'), priority: 'critical' as const },
  dflt: { keySha256: keyDigest('k-dflt') },
  shed: { keySha256: keyDigest('k-shed'), priority: 'sheddable' as const },
  capped: { keySha256: keyDigest('k-capped'), maxConcurrency: 1 },
};

async function junction(policy: object): Promise<Junction> {
  const j = await startJunction({
    telemetry: telemetry.sink,
    config: oneObjective({ 'm@1': [upstream.url] }, { default: 'm@1', policy }, { clients }),
    port: 0,
  });
  junctions.push(j);
  return j;
}

function call(j: Junction, key: string, headers: Record<string, string> = {}) {
  return request(`${j.url}/v1/objectives/obj`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...headers },
    body: '{}',
  }).then(async (r) => ({ status: r.statusCode, code: r.headers['x-error-code'], text: await r.body.text() }));
}

async function inFlight(n: number) {
  await vi.waitFor(() => expect(held.length).toBe(n));
}

describe('objective bulkhead', () => {
  it('answers 503 overloaded at once beyond maxConcurrency, while the others are still in flight', async () => {
    const j = await junction({ maxConcurrency: 2 });
    const a = call(j, 'k-dflt');
    const b = call(j, 'k-dflt');
    await inFlight(2);
    const c = await call(j, 'k-dflt'); // resolves while a and b are still held
    expect(c.status).toBe(503);
    expect(c.code).toBe('overloaded');
    expect(held.length).toBe(2);
    releaseAll();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    // Slots came back: a new call gets through.
    const d = call(j, 'k-dflt');
    await inFlight(1);
    releaseAll();
    expect((await d).status).toBe(200);
  });

  it('keeps its slots across a config revision: calls held on the old revision still count', async () => {
    const j = await junction({ maxConcurrency: 2 });
    const a = call(j, 'k-dflt');
    const b = call(j, 'k-dflt');
    await inFlight(2);
    const apply = async (revision: number, policy: object) => {
      const config = oneObjective({ 'm@1': [upstream.url] }, { default: 'm@1', policy }, { clients });
      await j.runtime.apply(validateConfig(config), { number: revision, source: config, baseDir: '.' });
    };
    await apply(2, { maxConcurrency: 2, timeoutMs: 1000 }); // another change (short: were c admitted, it would end 504 soon)
    expect(j.runtime.current?.number).toBe(2);
    const c = await call(j, 'k-dflt'); // a fresh bulkhead per revision would have admitted it
    expect(c.status).toBe(503);
    expect(c.code).toBe('overloaded');
    expect(held.length).toBe(2);
    await apply(3, { maxConcurrency: 3 });
    const d = call(j, 'k-dflt');
    await inFlight(3);
    const e = await call(j, 'k-dflt');
    expect(e.code).toBe('overloaded');
    releaseAll();
    expect([(await a).status, (await b).status, (await d).status]).toEqual([200, 200, 200]);
  });

  it("sheddable is refused first, critical last (it may take a queued call's place)", async () => {
    const j = await junction({ maxConcurrency: 4, maxQueue: 1 });
    let arrived = 0;
    j.server.on('request', () => {
      arrived++;
    }); // runs after Junction's own handler has taken the request
    const running = [call(j, 'k-dflt'), call(j, 'k-dflt'), call(j, 'k-dflt')];
    await inFlight(3);
    const shed = await call(j, 'k-shed'); // 3 of 4 slots used: sheddable may use only 75%
    expect(shed.code).toBe('overloaded');
    expect(telemetry.count('rejection', 'obj', 'shed', 'shed')).toBe(1);
    running.push(call(j, 'k-dflt')); // the last slot
    await inFlight(4);
    const queued = call(j, 'k-dflt'); // waits in the queue of 1
    await vi.waitFor(() => expect(arrived).toBe(6));
    const critical = call(j, 'k-crit'); // queue full: takes the default call's place
    expect((await queued).code).toBe('overloaded');
    const dflt = await call(j, 'k-dflt');
    expect(dflt.code).toBe('overloaded');
    held.shift()!.end('done'); // one slot frees: the critical call gets it
    await inFlight(4);
    releaseAll();
    expect((await critical).status).toBe(200);
    await Promise.all(running);
  });
});

describe('client concurrency cap', () => {
  it('a client over its cap gets 503 while others are served; the slot returns when the response ends', async () => {
    const j = await junction({});
    const first = call(j, 'k-capped');
    await inFlight(1);
    expect((await call(j, 'k-capped')).code).toBe('overloaded');
    const other = call(j, 'k-dflt');
    await inFlight(2);
    releaseAll();
    expect((await first).status).toBe(200);
    expect((await other).status).toBe(200);
    const again = call(j, 'k-capped');
    await inFlight(1);
    releaseAll();
    expect((await again).status).toBe(200);
  });

  it('the slot also returns after an error reply', async () => {
    const j = await junction({});
    expect((await call(j, 'k-capped', { 'x-deadline-ms': '50' })).code).toBe('deadline_exceeded');
    releaseAll();
    const next = call(j, 'k-capped');
    await inFlight(1);
    releaseAll();
    expect((await next).status).toBe(200);
  });
});
