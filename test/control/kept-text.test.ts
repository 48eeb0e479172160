// The text an operator submitted keeps its comments through Junction's own
// edits (a rollout action here), not only through applies (issue 27 item 4).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { parse } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let a: Upstream;
let j: Junction;
let admin: string;

beforeAll(async () => {
  a = await startUpstream('m1');
  j = await startJunction({
    port: 0,
    config: {
      models: { m: { class: 'scorer', versions: { '1': { backend: { type: 'http', endpoints: [a.url] } } } } },
      objectives: { cw: { default: 'm@1' } },
    },
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
    log: { error() {}, warn() {}, info() {} },
  });
  admin = j.control!.adminUrl!;
});
afterAll(async () => {
  await j.close();
  await a.close();
});

it("a rollout action edits the operator's text: its comments and key order survive", async () => {
  const text = `# Home page routing. Owner: ranking team.
models:
  m:
    class: scorer
    versions:
      "1": { backend: { type: http, endpoints: ["${a.url}"] } } # the incumbent
      "2": { backend: { type: http, endpoints: ["${a.url}"] } }
objectives:
  cw:
    default: m@1
    # Canary, judged by hand.
    rollout: { candidate: m@2, percent: 5 }
`;
  const put = await request(`${admin}/admin/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml' },
    body: text,
  });
  expect(put.statusCode).toBe(200);
  await put.body.dump();
  const paused = await request(`${admin}/admin/objectives/cw/rollout/pause`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(paused.statusCode).toBe(200);
  await paused.body.dump();
  const live = (await (await request(`${admin}/admin/config`)).body.json()) as { text: string; config: unknown };
  expect(live.text).toContain('# Home page routing. Owner: ranking team.');
  expect(live.text).toContain('# the incumbent');
  expect(live.text).toContain('# Canary, judged by hand.');
  expect(parse(live.text)).toEqual(live.config);
  expect((live.config as { objectives: { cw: { rollout: { state: string } } } }).objectives.cw.rollout.state).toBe(
    'paused',
  );
});
