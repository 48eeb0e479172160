// Shadow traffic over real sockets: copies reach the shadow target, their
// answers are compared with the live one, and nothing a shadow does (fail,
// hang, pile up) reaches the live response. A full queue drops and counts.
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { oneObjective } from '../support/configs.js';
import { recordTelemetry } from '../support/telemetry.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const telemetry = recordTelemetry();
let live: Upstream;
let shadowed: Upstream;
const parked: ServerResponse[] = [];
const junctions: Junction[] = [];

beforeAll(async () => {
  live = await startUpstream('live');
  shadowed = await startUpstream('shadow');
});
afterEach(async () => {
  shadowed.handle((_req, res) => {
    res.writeHead(200);
    res.end('{}');
  });
  for (const res of parked.splice(0)) res.end('{}');
  await Promise.all(junctions.splice(0).map((j) => j.close()));
  telemetry.clear();
});
afterAll(async () => {
  await Promise.all([live.close(), shadowed.close()]);
});

async function junction(shadow: object[]): Promise<Junction> {
  const j = await startJunction({
    telemetry: telemetry.sink,
    config: oneObjective({ 'm@1': [live.url], 'm@2': [shadowed.url] }, { default: 'm@1', shadow: shadow as never }),
    port: 0,
  });
  junctions.push(j);
  return j;
}

async function post(j: Junction, body = '{"q":1}') {
  const r = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

const answer = (body: unknown) => (_req: unknown, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('shadow traffic', () => {
  it('copies the request to the shadow target and reports agreement', async () => {
    live.handle(answer({ titles: [{ id: 'a' }, { id: 'b' }] }));
    shadowed.handle(answer({ titles: [{ id: 'b' }, { id: 'a' }] }));
    const j = await junction([{ use: 'm@2', percent: 100, compare: 'topk-overlap', k: 2 }]);
    const r = await post(j);
    expect(r.text).toBe('{"titles":[{"id":"a"},{"id":"b"}]}');
    expect(r.headers['x-model']).toBe('m@1');
    await vi.waitFor(() => expect(telemetry.count('shadow', 'obj', 'm@2', 'agree')).toBe(1));
    expect(shadowed.received.at(-1)!.body.toString()).toBe('{"q":1}');
    expect(shadowed.received.at(-1)!.headers['x-traffic-class']).toBe('synthetic');
    expect(shadowed.received.at(-1)!.headers['x-shadow-of']).toBe('m@1');
  });

  it('reports disagreement with its measure', async () => {
    live.handle(answer({ score: 0.5 }));
    shadowed.handle(answer({ score: 0.9 }));
    const j = await junction([{ use: 'm@2', percent: 100, compare: 'numeric', tolerance: 0.1 }]);
    await post(j);
    await vi.waitFor(() => expect(telemetry.count('shadow', 'obj', 'm@2', 'disagree', 0)).toBe(1));
  });

  it('a failing shadow never touches the live response', async () => {
    live.handle(answer({ ok: true }));
    shadowed.handle((_req, res) => {
      res.socket?.destroy();
    });
    const j = await junction([{ use: 'm@2', percent: 100, compare: 'exact' }]);
    const r = await post(j);
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"ok":true}');
    await vi.waitFor(() => expect(telemetry.count('shadow', 'obj', 'm@2', 'error')).toBe(1));
  });

  it('a hanging shadow target neither delays live calls nor grows without bound: a full queue drops, counted', async () => {
    live.handle(answer({ ok: true }));
    shadowed.handle((_req, res) => {
      parked.push(res);
    });
    const j = await junction([{ use: 'm@2', percent: 100 }]);
    const replies = await Promise.all(Array.from({ length: 100 }, () => post(j)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    // 8 copies in flight, 64 waiting, the rest dropped.
    expect(telemetry.count('shadow', 'obj', 'm@2', 'dropped')).toBe(100 - 8 - 64);
    expect(telemetry.count('dropped', 'shadow')).toBe(28);
  });

  it('percent 0 sends no copies', async () => {
    const before = shadowed.received.length;
    const j = await junction([{ use: 'm@2', percent: 0 }]);
    await post(j);
    expect(shadowed.received.length).toBe(before);
  });
});
