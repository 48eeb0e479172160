// The one entry point over real sockets: routing end to end, bodies streamed
// untouched both ways, header hygiene, and every error code of the core.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { Junction } from '../src/app.js';
import { bucketOf } from '../src/routing/bucket.js';
import { httpVersion, junctionWith } from './support/junction.js';
import { startUpstream, type Upstream } from './support/upstream.js';

let v6: Upstream;
let v7: Upstream;
let v8: Upstream;
let j: Junction;

beforeAll(async () => {
  [v6, v7, v8] = await Promise.all([startUpstream('v6'), startUpstream('v7'), startUpstream('v8')]);
  j = await junctionWith({
    models: {
      ranker: {
        class: 'scorer',
        versions: {
          '6': httpVersion(v6.url),
          '7': httpVersion(v7.url),
          '8': httpVersion(v8.url),
          '9': httpVersion('http://127.0.0.1:1'),
        },
      },
    },
    objectives: {
      cw: {
        default: 'ranker@6',
        pins: { 'vip-user': 'ranker@8' },
        rules: [{ id: 'latam', when: { context: { country: ['BR', 'MX'] } }, use: 'ranker@7' }],
        experiments: [
          {
            id: 'cw-42',
            population: 0.5,
            cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
          },
        ],
        rollout: { candidate: 'ranker@8', percent: 30 },
      },
      open: {
        default: 'ranker@6',
        allowOverride: true,
        overrideTargets: ['ranker@8'],
        methods: ['POST', 'GET'],
        policy: { timeoutMs: 1000 },
      },
      // Large bodies on a loaded CI machine: a budget that only a hang exceeds.
      bulk: { default: 'ranker@6', policy: { timeoutMs: 60000, maxBodyBytes: 64 * 1024 * 1024 } },
      broken: { default: 'ranker@9' },
      small: { default: 'ranker@6', policy: { maxBodyBytes: 1000 } },
    },
  });
});

afterAll(async () => {
  await j.close();
  await Promise.all([v6.close(), v7.close(), v8.close()]);
});

async function post(path: string, headers: Record<string, string> = {}, body: string | Buffer = '{}') {
  const res = await request(`${j.url}${path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('routing end to end', () => {
  it('default, pin, rule, experiment and rollout each reach their target and say so', async () => {
    const unitIn = (pred: (u: string) => boolean) => {
      for (let i = 0; ; i++) if (pred(`u${i}`)) return `u${i}`;
    };
    const cellB = unitIn((u) => {
      const b = bucketOf('cw-42', u);
      return b >= 2500 && b < 5000;
    });
    const rolled = unitIn((u) => bucketOf('cw-42', u) >= 5000 && bucketOf('cw:ranker@8', u) < 3000);
    const plain = unitIn((u) => bucketOf('cw-42', u) >= 5000 && bucketOf('cw:ranker@8', u) >= 3000);

    const cases: Array<[Record<string, string>, string, string, string]> = [
      [{ 'x-unit-id': 'vip-user', 'x-context-country': 'BR' }, 'ranker@8', 'rule=pin revision=1', 'v8'],
      [{ 'x-unit-id': plain, 'x-context-country': 'MX' }, 'ranker@7', 'rule=rule:latam revision=1', 'v7'],
      [{ 'x-unit-id': cellB }, 'ranker@7', 'rule=experiment:cw-42 cell=B revision=1', 'v7'],
      [{ 'x-unit-id': rolled }, 'ranker@8', 'rule=rollout revision=1', 'v8'],
      [{ 'x-unit-id': plain }, 'ranker@6', 'rule=default revision=1', 'v6'],
    ];
    for (const [headers, model, decision, served] of cases) {
      const r = await post('/v1/objectives/cw', headers);
      expect(r.status).toBe(200);
      expect(r.headers['x-model']).toBe(model);
      expect(r.headers['x-decision']).toBe(decision);
      expect(r.json()).toEqual({ served });
    }
  });

  it('override reaches the named target when the objective allows it', async () => {
    const r = await post('/v1/objectives/open', { 'x-model-override': 'ranker@8' });
    expect(r.headers['x-model']).toBe('ranker@8');
    expect(r.headers['x-decision']).toBe('rule=override revision=1 unit=none');
    expect(r.json()).toEqual({ served: 'v8' });
  });

  it('GET is served only for objectives that allow it', async () => {
    const ok = await request(`${j.url}/v1/objectives/open?q=1`);
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
    expect(v6.received.at(-1)!.url).toBe('/?q=1');
    const refused = await request(`${j.url}/v1/objectives/cw`);
    expect(refused.statusCode).toBe(405);
    expect(((await refused.body.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });
});

describe('bodies and headers', () => {
  it('a 10 MB body goes up and comes back byte-exact', async () => {
    v6.handle((_req, res, body) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'x-digest': createHash('sha256').update(body).digest('hex'),
      });
      res.end(body);
    });
    const payload = randomBytes(10 * 1024 * 1024);
    const r = await request(`${j.url}/v1/objectives/bulk`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const back = Buffer.from(await r.body.arrayBuffer());
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-digest']).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(back.equals(payload)).toBe(true);
  });

  it('a chunked body without content-length streams up intact', async () => {
    v6.handle((_req, res, body) => {
      res.end(createHash('sha256').update(body).digest('hex'));
    });
    const chunks = [randomBytes(100_000), randomBytes(5), randomBytes(300_000)];
    async function* gen() {
      for (const c of chunks) yield c;
    }
    const r = await request(`${j.url}/v1/objectives/bulk`, { method: 'POST', body: Readable.from(gen()) });
    expect(await r.body.text()).toBe(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
  });

  it('first bytes of a slow chunked response reach the client before the upstream finishes', async () => {
    let finish!: () => void;
    const upstreamDone = new Promise<void>((r) => {
      finish = r;
    });
    v6.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      await upstreamDone; // the upstream only finishes once the client has seen the first chunk
      res.end('last');
    });
    const r = await request(`${j.url}/v1/objectives/bulk`, { method: 'POST', body: '{}' });
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    expect(Buffer.from(first.value as Buffer).toString()).toBe('first;');
    finish();
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next()) rest += Buffer.from(n.value as Buffer).toString();
    expect(rest).toBe('last');
  });

  it('hop-by-hop headers are stripped both ways; ids, deadline and trace context go downstream', async () => {
    v6.handle((_req, res) => {
      res.setHeader('x-upstream', 'yes');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-private-hop', 'secret');
      res.setHeader('connection', 'x-private-hop');
      res.end('ok');
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await request(`${j.url}/v1/objectives/open`, {
      method: 'POST',
      body: 'x',
      headers: {
        'x-request-id': 'req-123',
        'x-deadline-ms': '250',
        traceparent,
        'x-custom': 'kept',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
      },
    });
    await r.body.text();
    // undici (the client above) manages Connection itself; node:http lets a test send one.
    const named = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${j.url}/v1/objectives/open`);
      const creq = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': '1' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      creq.on('error', reject);
      creq.end('y');
    });
    expect(named).toBe(200);
    expect(v6.received.at(-1)!.headers['x-drop-me']).toBeUndefined();
    const seen = v6.received.at(-2)!.headers;
    expect(seen['x-request-id']).toBe('req-123');
    expect(seen.traceparent).toBe(traceparent);
    expect(seen['x-custom']).toBe('kept');
    expect(Number(seen['x-deadline-ms'])).toBeGreaterThan(0);
    expect(Number(seen['x-deadline-ms'])).toBeLessThanOrEqual(250);
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(r.headers['x-upstream']).toBe('yes');
    expect(r.headers['x-private-hop']).toBeUndefined();
    expect(r.headers['keep-alive']).not.toBe('timeout=5');
    expect(r.headers['x-request-id']).toBe('req-123');
  });

  it('x-deadline-ms caps the objective timeout downstream', async () => {
    v6.handle((_req, res) => {
      res.end('ok');
    });
    await post('/v1/objectives/open', { 'x-deadline-ms': '50' });
    expect(Number(v6.received.at(-1)!.headers['x-deadline-ms'])).toBeLessThanOrEqual(50);
    await post('/v1/objectives/open');
    // Without a caller deadline the objective's own timeoutMs (1000) is the budget.
    const budget = Number(v6.received.at(-1)!.headers['x-deadline-ms']);
    expect(budget).toBeGreaterThan(50);
    expect(budget).toBeLessThanOrEqual(1000);
  });
});

describe('errors', () => {
  async function expectError(r: Awaited<ReturnType<typeof post>>, status: number, code: string) {
    expect(r.status).toBe(status);
    const body = r.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.requestId).toBe(r.headers['x-request-id']);
    expect(r.headers['x-request-id']).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/); // none sent: a ULID made here
    expect(r.headers['x-error-code']).toBe(code);
  }

  it('invalid_request for bad header values', async () => {
    await expectError(await post('/v1/objectives/cw', { 'x-traffic-class': 'prod' }), 400, 'invalid_request');
    await expectError(await post('/v1/objectives/cw', { 'x-deadline-ms': '-5' }), 400, 'invalid_request');
    await expectError(
      await post('/v1/objectives/open', { 'x-model-override': 'not a target' }),
      400,
      'invalid_request',
    );
  });

  it('objective_not_found', async () => {
    const r = await post('/v1/objectives/nope');
    await expectError(r, 404, 'objective_not_found');
    expect(r.json().error.objective).toBe('nope');
  });

  it('override_forbidden, with the decision it refused to change', async () => {
    await expectError(await post('/v1/objectives/cw', { 'x-model-override': 'ranker@7' }), 403, 'override_forbidden');
  });

  it('upstream_error when the backend is unreachable, with decision headers', async () => {
    const r = await post('/v1/objectives/broken');
    await expectError(r, 502, 'upstream_error');
    expect(r.headers['x-model']).toBe('ranker@9');
    expect(r.headers['x-decision']).toBe('rule=default revision=1 unit=none');
  });

  it('deadline_exceeded when the backend hangs, and the process keeps serving', async () => {
    v6.handle(() => undefined); // never answers
    const r = await post('/v1/objectives/open');
    await expectError(r, 504, 'deadline_exceeded');
    v6.handle((_req, res) => {
      res.end('ok');
    });
    expect((await post('/v1/objectives/open')).status).toBe(200);
  });

  it('payload_too_large for a declared length over maxBodyBytes, and for a chunked body that grows past it', async () => {
    v6.handle((_req, res) => {
      res.end('ok');
    });
    const declared = await post('/v1/objectives/small', {}, Buffer.alloc(5000));
    await expectError(declared, 413, 'payload_too_large');
    async function* gen() {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(1000);
    }
    const res = await request(`${j.url}/v1/objectives/small`, { method: 'POST', body: Readable.from(gen()) });
    expect(res.statusCode).toBe(413);
    expect(res.headers['x-error-code']).toBe('payload_too_large');
    await res.body.text();
  });

  it('not_found for unknown routes', async () => {
    await expectError(await post('/v2/nothing/here'), 404, 'not_found');
  });
});

describe('decide and explain', () => {
  it('decide returns what the data plane would do, one or a batch', async () => {
    const one = (await post('/v1/decide', {}, JSON.stringify({ objective: 'cw', unit: 'vip-user' }))).json();
    expect(one).toMatchObject({
      objective: 'cw',
      target: 'ranker@8',
      model: 'ranker',
      version: '8',
      rule: 'pin',
      revision: 1,
      endpoint: v8.url,
    });
    const batch = (
      await post(
        '/v1/decide',
        {},
        JSON.stringify({
          requests: [
            { objective: 'cw', unit: 'x', context: { country: 'BR' } },
            { objective: 'missing' },
            { objective: 'cw', trafficClass: 'nope' },
          ],
        }),
      )
    ).json();
    expect(batch.decisions[0]).toMatchObject({ target: 'ranker@7', rule: 'rule:latam' });
    expect(batch.decisions[1].error.code).toBe('objective_not_found');
    expect(batch.decisions[2].error.code).toBe('invalid_request');
  });

  it('decide refuses malformed JSON with invalid_request', async () => {
    const r = await post('/v1/decide', {}, '{not json');
    expect(r.status).toBe(400);
    expect(r.json().error.code).toBe('invalid_request');
  });

  it('explain gives the decision and the trail', async () => {
    const res = await request(`${j.url}/v1/objectives/cw/explain?unit=vip-user&country=BR`);
    const body = (await res.body.json()) as {
      decision: { target: string };
      trail: Array<{ step: string; matched: boolean }>;
    };
    expect(body.decision.target).toBe('ranker@8');
    expect(body.trail).toEqual([expect.objectContaining({ step: 'pin', matched: true })]);
  });

  it('healthz and readyz', async () => {
    expect((await request(`${j.url}/healthz`)).statusCode).toBe(200);
    const ready = await request(`${j.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({ ready: true, revision: 1 });
  });
});
