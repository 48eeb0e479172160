// With tracing off, Junction makes no spans and passes the caller's traceparent through untouched.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { injectedRequest } from '../support/inject.js';

let upstream: Upstream;
let junction: Junction;
const request = injectedRequest(() => junction);

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  junction = await startJunction({
    listen: false,
    tracing: false,
    config: {
      models: { ranker: { versions: { '6': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
      objectives: { cw: { default: 'ranker@6' } },
    },
  });
});

afterAll(async () => {
  await junction?.close();
  await upstream?.close();
});

it("forwards the caller's traceparent unchanged when tracing is off", async () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await request(`${junction.url}/v1/objectives/cw`, {
    method: 'POST',
    body: '{}',
    headers: { traceparent: tp },
  });
  await res.body.text();
  expect(upstream.received.at(-1)!.headers.traceparent).toBe(tp);
});
