// junction.inject() runs a request through the data plane's own handler
// without a socket: same routing, upstream call, headers, errors, streams and
// metrics as over the network (compared here with a real request).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

let upstream: Upstream;
let junction: Junction;
let socketless: Junction;

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  upstream.handle((req, res, body) => {
    if (req.headers.accept === 'text/event-stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setImmediate(() => res.end('data: [DONE]\n\n'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ echo: body.toString(), unit: req.headers['x-unit-id'] ?? null }));
  });
  const config = {
    models: { ranker: { versions: { '6': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
    objectives: { rank: { default: 'ranker@6' } },
  };
  junction = await startJunction({ port: 0, config, tracing: false });
  socketless = await startJunction({ listen: false, config, tracing: false });
});

afterAll(async () => {
  await junction?.close();
  await socketless?.close();
  await upstream?.close();
});

describe('junction.inject', () => {
  it("answers an invoke exactly as the socket does: status, routing headers, the upstream's body", async () => {
    const req = { method: 'POST', headers: { 'content-type': 'application/json', 'x-unit-id': 'u1' }, body: '{"q":1}' };
    const viaSocket = await request(`${junction.url}/v1/objectives/rank`, req);
    const socketBody = await viaSocket.body.text();
    const injected = await junction.inject({ url: '/v1/objectives/rank', ...req });
    expect(injected.status).toBe(viaSocket.statusCode);
    expect(injected.body).toBe(socketBody);
    expect(injected.json()).toEqual({ echo: '{"q":1}', unit: 'u1' });
    for (const h of ['x-model', 'x-decision', 'content-type']) expect(injected.headers[h]).toBe(viaSocket.headers[h]);
  });

  it('needs no listening socket at all', async () => {
    expect(socketless.url).toBe('');
    expect(socketless.server.listening).toBe(false);
    const res = await socketless.inject({ method: 'POST', url: '/v1/objectives/rank', body: { q: 2 } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ echo: '{"q":2}', unit: null });
  });

  it('writes errors through the same face (unknown objective, wrong method)', async () => {
    const missing = await socketless.inject({ method: 'POST', url: '/v1/objectives/nope', body: '{}' });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'objective_not_found' } });
    const method = await socketless.inject({ method: 'DELETE', url: '/v1/objectives/rank' });
    expect(method.status).toBe(405);
  });

  it('collects a streamed (SSE) reply as text', async () => {
    const res = await socketless.inject({
      method: 'POST',
      url: '/v1/objectives/rank',
      headers: { accept: 'text/event-stream' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.body).toBe('data: one\n\ndata: [DONE]\n\n');
  });

  it('is observed like any request: /metrics counts it', async () => {
    const before = sampleValue(
      parsePrometheus((await socketless.inject({ url: '/metrics' })).body),
      'junction_requests_total',
      { objective: 'rank', code: '200' },
    );
    await socketless.inject({ method: 'POST', url: '/v1/objectives/rank', body: '{}' });
    const after = sampleValue(
      parsePrometheus((await socketless.inject({ url: '/metrics' })).body),
      'junction_requests_total',
      { objective: 'rank', code: '200' },
    );
    expect(after - before).toBe(1);
  });
});
