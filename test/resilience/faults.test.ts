// Fault injection over real sockets: a backend that fails, hangs, is slow,
// cuts its stream, speaks garbage or is not there. Junction answers with a
// clean error (or a fallback), on time, and stays up.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:net';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { oneObjective } from '../support/configs.js';
import { recordTelemetry } from '../support/telemetry.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const telemetry = recordTelemetry();
let good: Upstream;
let bad: Upstream;
let absentUrl: string;
let garbage: Server;
let garbageUrl: string;
const junctions: Junction[] = [];

beforeAll(async () => {
  good = await startUpstream('good');
  bad = await startUpstream('bad');
  // A port nobody listens on: bind, read the port, close.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  absentUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  probe.close();
  garbage = createServer((s) => s.once('data', () => s.end('this is not HTTP\r\n\r\n')));
  garbage.listen(0, '127.0.0.1');
  await once(garbage, 'listening');
  garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await Promise.all(junctions.splice(0).map((j) => j.close()));
  telemetry.clear();
  bad.handle((_req, res) => {
    res.writeHead(200);
    res.end('{}');
  });
});

afterAll(async () => {
  await Promise.all([good.close(), bad.close()]);
  garbage.close();
});

async function junction(config: unknown): Promise<Junction> {
  const j = await startJunction({ telemetry: telemetry.sink, config, port: 0 });
  junctions.push(j);
  return j;
}

async function post(j: Junction, headers: Record<string, string> = {}, body = '{"x":1}') {
  const res = await request(`${j.url}/v1/objectives/obj`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as { error: { code: string } },
  };
}

describe('a backend that returns 5xx', () => {
  it('without a fallback: the backend error is passed through with the decision headers', async () => {
    bad.handle((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    });
    const j = await junction(oneObjective({ 'm@1': [bad.url] }, { default: 'm@1' }));
    const r = await post(j);
    expect(r.status).toBe(500);
    expect(r.text).toBe('boom');
    expect(r.headers['x-model']).toBe('m@1');
    expect(r.headers['x-fallback']).toBeUndefined();
  });

  it("a target's configured credentials never reach the fallback that answers instead", async () => {
    bad.handle((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const seenByFallback: Array<string | undefined> = [];
    const fallback = await startUpstream('fallback');
    fallback.handle((req, res) => {
      seenByFallback.push(req.headers.authorization);
      res.writeHead(200);
      res.end('{}');
    });
    try {
      const config = oneObjective(
        { 'm@1': [bad.url], 'm@2': [fallback.url] },
        { default: 'm@1', policy: { fallback: ['m@2'] } },
      );
      const backend = (
        config.models as Record<string, { versions: Record<string, { backend: Record<string, unknown> }> }>
      ).m!.versions['1']!.backend;
      backend.headers = { authorization: 'Bearer SECRET-OF-M1' };
      const j = await junction(config);
      const r = await post(j);
      expect(r.status).toBe(200);
      expect(r.headers['x-fallback']).toBe('m@2');
      expect(seenByFallback).toEqual([undefined]);
    } finally {
      await fallback.close();
    }
  });

  it('with a fallback: the fallback answers and x-fallback names it', async () => {
    bad.handle((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const j = await junction(
      oneObjective({ 'm@1': [bad.url], 'm@2': [good.url] }, { default: 'm@1', policy: { fallback: ['m@2'] } }),
    );
    const r = await post(j);
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"served":"good"}');
    expect(r.headers['x-model']).toBe('m@1');
    expect(r.headers['x-fallback']).toBe('m@2');
    expect(telemetry.count('fallback', 'obj', 'm@1', 'm@2', 'error')).toBe(1);
  });

  it('when every target fails, the static answer is served and named', async () => {
    bad.handle((_req, res) => {
      res.writeHead(502);
      res.end();
    });
    const j = await junction(
      oneObjective(
        { 'm@1': [bad.url], 'm@2': [absentUrl] },
        {
          default: 'm@1',
          policy: { fallback: ['m@2'], static: { status: 200, body: { titles: [] } } },
        },
      ),
    );
    const r = await post(j);
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"titles":[]}');
    expect(r.headers['x-fallback']).toBe('static');
    expect(telemetry.count('fallback', 'obj', 'm@2', 'static')).toBe(1);
  });

  it('idempotent objectives retry, each retry counted', async () => {
    let n = 0;
    bad.handle((_req, res) => {
      n++;
      res.writeHead(n <= 2 ? 503 : 200);
      res.end(n <= 2 ? '' : 'third time');
    });
    const j = await junction(
      oneObjective({ 'm@1': [bad.url] }, { default: 'm@1', policy: { idempotent: true, retries: 2 } }),
    );
    const r = await post(j);
    expect(r.status).toBe(200);
    expect(r.text).toBe('third time');
    expect(telemetry.count('retry', 'obj', 'm@1')).toBe(2);
    expect(bad.received.slice(-3).map((x) => x.body.toString())).toEqual(['{"x":1}', '{"x":1}', '{"x":1}']);
  });

  it('non-idempotent objectives are never retried', async () => {
    bad.handle((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const before = bad.received.length;
    const j = await junction(oneObjective({ 'm@1': [bad.url] }, { default: 'm@1' }));
    expect((await post(j)).status).toBe(503);
    expect(bad.received.length - before).toBe(1);
  });
});

describe('a backend that hangs or is slow', () => {
  it("answers 504 deadline_exceeded within the caller's x-deadline-ms, which caps timeoutMs", async () => {
    bad.handle(() => undefined); // never answers
    const j = await junction(oneObjective({ 'm@1': [bad.url] }, { default: 'm@1', policy: { timeoutMs: 60_000 } }));
    const r = await post(j, { 'x-deadline-ms': '100' });
    expect(r.status).toBe(504);
    expect(r.json().error.code).toBe('deadline_exceeded');
  }, 10_000);

  it("propagates the remaining budget downstream, reduced, never above the caller's", async () => {
    const j = await junction(oneObjective({ 'm@1': [good.url] }, { default: 'm@1', policy: { timeoutMs: 8000 } }));
    await post(j, { 'x-deadline-ms': '5000' });
    const sent = Number(good.received.at(-1)!.headers['x-deadline-ms']);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(5000);
    await post(j, { 'x-deadline-ms': '60000' });
    expect(Number(good.received.at(-1)!.headers['x-deadline-ms'])).toBeLessThanOrEqual(8000);
  });

  it('a hedge goes to the other endpoint, the first good reply wins and the loser is cancelled', async () => {
    const fast = await startUpstream('a');
    const slow = await startUpstream('b');
    let first = true;
    let loserClosed: Promise<unknown> | undefined;
    const handler = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
      if (first) {
        first = false;
        loserClosed = once(res, 'close');
        return;
      } // hangs until cancelled
      res.writeHead(200);
      res.end(name);
    };
    fast.handle(handler('a'));
    slow.handle(handler('b'));
    const j = await junction(
      oneObjective({ 'm@1': [fast.url, slow.url] }, { default: 'm@1', policy: { idempotent: true, hedgeAfterMs: 20 } }),
    );
    const r = await post(j);
    expect(r.status).toBe(200);
    expect(telemetry.count('hedge', 'obj', 'm@1')).toBe(1);
    await loserClosed; // resolves only because Junction cancelled the first attempt
    expect(fast.received.length + slow.received.length).toBe(2);
    expect(fast.received.length).toBe(1);
    await Promise.all([fast.close(), slow.close()]);
  });
});

describe('a backend that breaks the protocol or is not there', () => {
  it("a reset mid-stream cuts the client's stream; the process keeps serving", async () => {
    bad.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial…');
      setImmediate(() => res.socket?.destroy());
    });
    const j = await junction(oneObjective({ 'm@1': [bad.url] }, { default: 'm@1' }));
    const res = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    bad.handle((_req, r) => {
      r.writeHead(200);
      r.end('fine');
    });
    expect((await post(j)).text).toBe('fine');
  });

  it('a malformed HTTP response is a 502 upstream_error', async () => {
    const j = await junction(oneObjective({ 'm@1': [garbageUrl] }, { default: 'm@1' }));
    const r = await post(j);
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_error');
  });

  it('headers, then a broken body in the same packet: a failed attempt (502), never an uncaught error', async () => {
    // The reply has headers but never a first byte: a failed attempt, and the process keeps serving.
    const broken = createServer((s) =>
      s.once('data', () =>
        s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n'),
      ),
    );
    broken.listen(0, '127.0.0.1');
    await once(broken, 'listening');
    try {
      const j = await junction(
        oneObjective({ 'm@1': [`http://127.0.0.1:${(broken.address() as AddressInfo).port}`] }, { default: 'm@1' }),
      );
      for (let i = 0; i < 5; i++) {
        const r = await post(j);
        expect(r.status).toBe(502);
        expect(r.json().error.code).toBe('upstream_error');
      }
    } finally {
      broken.close();
    }
  });

  it('an absent backend is a 502 upstream_error, or its fallback answers', async () => {
    const j = await junction(oneObjective({ 'm@1': [absentUrl], 'm@2': [good.url] }, { default: 'm@1' }));
    expect((await post(j)).json().error.code).toBe('upstream_error');
    const k = await junction(
      oneObjective({ 'm@1': [absentUrl], 'm@2': [good.url] }, { default: 'm@1', policy: { fallback: ['m@2'] } }),
    );
    const r = await post(k);
    expect(r.status).toBe(200);
    expect(r.headers['x-fallback']).toBe('m@2');
  });

  it('an endpoint that keeps failing is ejected: calls fail fast with no_healthy_backend, then fall back', async () => {
    const config = oneObjective({ 'm@1': [absentUrl], 'm@2': [good.url] }, { default: 'm@1' });
    (config.models!.m!.versions['1']!.backend as { ejection: unknown }).ejection = {
      consecutiveFailures: 2,
      baseEjectionMs: 60_000,
      maxEjectedPercent: 50,
    };
    const j = await junction(config);
    await post(j);
    await post(j);
    expect((await post(j)).json().error.code).toBe('no_healthy_backend');
  });
});

describe('bodies over maxBodyBytes', () => {
  it('413 when the declared length is over the limit', async () => {
    const j = await junction(oneObjective({ 'm@1': [good.url] }, { default: 'm@1', policy: { maxBodyBytes: 100 } }));
    const r = await post(j, {}, 'x'.repeat(1000));
    expect(r.status).toBe(413);
    expect(r.json().error.code).toBe('payload_too_large');
  });

  it('413 while streaming a chunked body that grows past the limit', async () => {
    const j = await junction(oneObjective({ 'm@1': [good.url] }, { default: 'm@1', policy: { maxBodyBytes: 100 } }));
    async function* chunks() {
      for (let i = 0; i < 50; i++) yield Buffer.alloc(64, 'x');
    }
    const res = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: Readable.from(chunks()) });
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(await res.body.text()).error.code).toBe('payload_too_large');
  });

  it('413 for buffered (replayable) bodies too', async () => {
    const j = await junction(
      oneObjective(
        { 'm@1': [good.url], 'm@2': [good.url] },
        { default: 'm@1', policy: { maxBodyBytes: 100, fallback: ['m@2'] } },
      ),
    );
    async function* chunks() {
      for (let i = 0; i < 50; i++) yield Buffer.alloc(64, 'x');
    }
    const res = await request(`${j.url}/v1/objectives/obj`, { method: 'POST', body: Readable.from(chunks()) });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });
});
