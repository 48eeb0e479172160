// Shadow outcomes on the decision log, over real sockets: the line of a
// shadowed request carries each copy's comparison, and a copy that hangs
// neither delays the live response nor keeps the line from being written.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { oneObjective } from '../support/configs.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let live: Upstream;
let shadowed: Upstream;
const parked: ServerResponse[] = [];
const junctions: Junction[] = [];
const dir = mkdtempSync(join(tmpdir(), 'junction-dl-shadow-'));

beforeAll(async () => {
  live = await startUpstream('live');
  shadowed = await startUpstream('shadow');
  live.handle(answer('{"score":0.5}'));
});
afterEach(async () => {
  for (const res of parked.splice(0)) res.end('{}');
  await Promise.all(junctions.splice(0).map((j) => j.close()));
});
afterAll(async () => {
  await Promise.all([live.close(), shadowed.close()]);
});

function answer(body: string) {
  return (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
}

async function junction(file: string, timeoutMs = 2000): Promise<Junction> {
  const j = await startJunction({
    port: 0,
    decisionLog: file,
    config: oneObjective(
      { 'm@1': [live.url], 'm@2': [shadowed.url] },
      {
        default: 'm@1',
        policy: { timeoutMs },
        shadow: [{ use: 'm@2', percent: 100, compare: 'exact' }],
      },
    ),
  });
  junctions.push(j);
  return j;
}

async function post(j: Junction, id: string): Promise<string> {
  const r = await request(`${j.url}/v1/objectives/obj`, {
    method: 'POST',
    body: '{}',
    headers: { 'x-request-id': id },
  });
  return r.body.text();
}

function lines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

it('the line carries the comparator result of each shadow copy', async () => {
  const file = join(dir, 'compare.jsonl');
  const j = await junction(file);
  shadowed.handle(answer('{"score":0.5}'));
  await post(j, 'same');
  shadowed.handle(answer('{"score":0.9}'));
  await post(j, 'different');
  await j.close(); // waits for deferred lines
  const byId = new Map(lines(file).map((l) => [l.requestId, l]));
  expect(byId.get('same')).toMatchObject({ status: 200, shadows: [{ target: 'm@2', result: 'agree', agreement: 1 }] });
  expect(byId.get('different')).toMatchObject({
    status: 200,
    shadows: [{ target: 'm@2', result: 'disagree', agreement: 0 }],
  });
});

it('a hanging shadow delays neither the live response nor, past the shadow timeout, the line', async () => {
  const file = join(dir, 'hang.jsonl');
  const j = await junction(file, 300);
  shadowed.handle((_req, res) => {
    parked.push(res);
  });
  const text = await post(j, 'hung');
  // The live answer came back while the copy was still held open by the shadow upstream…
  expect(text).toBe('{"score":0.5}');
  await vi.waitFor(() => expect(parked.length).toBe(1));
  expect(parked[0]!.writableEnded).toBe(false);
  // …and the line is written once the shadow timeout gives up on it.
  await vi.waitFor(() => expect(lines(file).map((l) => l.requestId)).toContain('hung'), { timeout: 5000 });
  expect(lines(file).find((l) => l.requestId === 'hung')).toMatchObject({
    status: 200,
    shadows: [{ target: 'm@2', result: 'timeout' }],
  });
});
