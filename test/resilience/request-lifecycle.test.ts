// One lifecycle per request, one deadline mechanism, a fallback whenever
// nothing reached the caller (issue 10, findings 3, 8, 9, 10, 11), over real
// sockets against real upstreams that misbehave on purpose. Every request ends
// in exactly one record, and a failure is recorded as one.
import { request as httpRequest, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import type { EndedRecord } from '../../src/observe/record.js';
import { allSseData } from '../support/sse.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let ok: Upstream;
let dies: Upstream;
let slow: Upstream;
let cutMid: Upstream;
let hang: Upstream;
let j: Junction;
const records: EndedRecord[] = [];

/** SSE headers at once, then one event every 50 ms, 60 in all (3 s): longer than every budget below. */
function slowEvents(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let n = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(`data: {"n":${n}}\n\n`);
    if (++n === 60) {
      clearInterval(timer);
      res.end('data: [DONE]\n\n');
    }
  }, 50);
  res.on('close', () => clearInterval(timer));
}

const http = (url: string, extra: object = {}) => ({
  backend: {
    type: 'http',
    protocol: 'raw',
    endpoints: [url],
    ejection: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectedPercent: 100 },
    ...extra,
  },
});

beforeAll(async () => {
  [ok, dies, slow, cutMid, hang] = await Promise.all([
    startUpstream('ok'),
    startUpstream('dies'),
    startUpstream('slow'),
    startUpstream('cut'),
    startUpstream('hang'),
  ]);
  hang.handle(() => undefined); // never answers
  // Headers, then death before the first event.
  dies.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    setTimeout(() => res.socket?.destroy(), 20);
  });
  slow.handle((_req, res) => slowEvents(res));
  // One event, then the connection is reset mid-body.
  cutMid.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":0}\n\n');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  j = await startJunction({
    port: 0,
    observers: [(r) => records.push(r)],
    server: { minBodyBytesPerSecond: 1000, bodyGraceMs: 300 },
    config: {
      models: {
        ok: { versions: { '1': http(ok.url), '2': http(ok.url, { connections: 1 }) } },
        dies: { versions: { '1': http(dies.url) } },
        slow: { versions: { '1': http(slow.url) } },
        cut: { versions: { '1': http(cutMid.url) } },
        hang: { versions: { '1': http(hang.url) } },
      },
      objectives: {
        plain: { default: 'ok@1' },
        'dies-fallback': { default: 'dies@1', policy: { fallback: ['ok@1'] } },
        'dies-static': { default: 'dies@1', policy: { static: { status: 200, body: { static: true } } } },
        stream: { default: 'slow@1', policy: { timeoutMs: 1000, replyTimeoutMs: 1200 } },
        'stream-long': { default: 'slow@1', policy: { timeoutMs: 1000, replyTimeoutMs: 60_000 } },
        chat: { interface: 'openai', default: 'slow@1', policy: { timeoutMs: 1000, replyTimeoutMs: 1200 } },
        cut: { default: 'cut@1' },
        hang: { default: 'hang@1', policy: { timeoutMs: 20_000 } },
        'one-conn': { default: 'ok@2' },
        'one-conn-other': { default: 'ok@2', policy: { timeoutMs: 20_000 } },
      },
    },
  });
});

afterAll(async () => {
  await j.close();
  await Promise.all([ok, dies, slow, cutMid, hang].map((u) => u.close()));
});

beforeEach(() => {
  records.length = 0;
});

/** The one record of the request with this id, once the request has ended. */
async function recordOf(requestId: string): Promise<EndedRecord> {
  for (;;) {
    const found = records.filter((r) => r.requestId === requestId);
    if (found.length > 0) {
      expect(found).toHaveLength(1);
      return found[0]!;
    }
    await new Promise((r) => setImmediate(r));
  }
}

describe('Expect: 100-continue (finding 3)', () => {
  it('is answered on the caller side, never forwarded, and never ejects a healthy backend', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 'x');
    const before = ok.received.length;
    for (let i = 0; i < 6; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${j.url}/v1/objectives/plain`,
          {
            method: 'POST',
            headers: {
              expect: '100-continue',
              'content-length': body.length,
              'content-type': 'application/octet-stream',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('continue', () => req.end(body));
        req.on('error', reject);
      });
      expect(status).toBe(200);
    }
    const seen = ok.received.slice(before);
    expect(seen).toHaveLength(6);
    for (const r of seen) {
      expect(r.headers.expect).toBeUndefined();
      expect(r.body.length).toBe(body.length);
    }
    const after = await request(`${j.url}/v1/objectives/plain`, { method: 'POST', body: '{}' });
    await after.body.dump();
    expect(after.statusCode).toBe(200);
  });
});

describe('headers, then death before the first byte (finding 9)', () => {
  it('the fallback target answers: nothing had reached the caller', async () => {
    const r = await request(`${j.url}/v1/objectives/dies-fallback`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'dies-1' },
    });
    expect(await r.body.json()).toEqual({ served: 'ok' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-fallback']).toBe('ok@1');
    expect(await recordOf('dies-1')).toMatchObject({ status: 200, fallback: 'ok@1', errorCode: undefined });
  });

  it('the static answer is given when no target is left', async () => {
    const r = await request(`${j.url}/v1/objectives/dies-static`, { method: 'POST', body: '{}' });
    expect(await r.body.json()).toEqual({ static: true });
    expect(r.headers['x-fallback']).toBe('static');
  });
});

describe('the whole-reply budget covers a streamed body (finding 10)', () => {
  it('replyTimeoutMs cuts a stream still flowing: no terminating chunk, recorded as deadline_exceeded', async () => {
    const r = await request(`${j.url}/v1/objectives/stream`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'stream-1' },
    });
    expect(r.statusCode).toBe(200);
    await expect(r.body.text()).rejects.toThrow();
    expect(await recordOf('stream-1')).toMatchObject({ status: 504, errorCode: 'deadline_exceeded' });
  });

  it("the caller's x-deadline-ms caps the whole reply too", async () => {
    const r = await request(`${j.url}/v1/objectives/stream-long`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'stream-2', 'x-deadline-ms': '500' },
    });
    await expect(r.body.text()).rejects.toThrow();
    expect(await recordOf('stream-2')).toMatchObject({ status: 504, errorCode: 'deadline_exceeded' });
  });

  it('an OpenAI stream cut by its budget ends with an error event and no [DONE]', async () => {
    const r = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'chat-1' },
      body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const data = await allSseData(r.body as unknown as ReadableStream<Uint8Array>);
    expect(data.length).toBeGreaterThan(0);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1)!)).toMatchObject({ error: { code: 'deadline_exceeded' } });
    expect(await recordOf('chat-1')).toMatchObject({ status: 504, errorCode: 'deadline_exceeded' });
  });
});

describe('failures are recorded as failures (finding 8)', () => {
  it('a caller that leaves mid-stream is client_closed (499), not 200', async () => {
    const ac = new AbortController();
    const r = await request(`${j.url}/v1/objectives/stream-long`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'gone-1' },
      signal: ac.signal,
    });
    for await (const _chunk of r.body) break; // one event, then leave
    ac.abort();
    expect(await recordOf('gone-1')).toMatchObject({ status: 499, errorCode: 'client_closed' });
  });

  it('a caller that leaves before any reply is client_closed too', async () => {
    const socket = connect(Number(new URL(j.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /v1/objectives/hang HTTP/1.1\r\nhost: x\r\nx-request-id: gone-2\r\ncontent-length: 2\r\n\r\n{}');
    // The request is in once its upstream has it (and never answers); then leave.
    while (hang.received.length === 0) await new Promise((res) => setTimeout(res, 5));
    socket.destroy();
    expect(await recordOf('gone-2')).toMatchObject({ status: 499, errorCode: 'client_closed' });
  });

  it('an upstream reset mid-body is upstream_error, not 200', async () => {
    const r = await request(`${j.url}/v1/objectives/cut`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'cut-1' },
    });
    await expect(r.body.text()).rejects.toThrow();
    expect(await recordOf('cut-1')).toMatchObject({ status: 502, errorCode: 'upstream_error' });
  });

  it('the metrics count them by their real code', async () => {
    const text = await (await request(`${j.url}/metrics`)).body.text();
    expect(text).toMatch(/junction_requests_total\{[^}]*objective="cut"[^}]*code="502"[^}]*\} [1-9]/);
    expect(text).not.toMatch(/junction_requests_total\{[^}]*objective="cut"[^}]*code="200"/);
  });
});

describe('slow request bodies (finding 11)', () => {
  it('a body slower than the minimum rate is cut with 408 and frees its upstream connection', async () => {
    // ok@2 has one upstream connection: the slow body holds it until cut.
    const socket = connect(Number(new URL(j.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    let reply = '';
    const answered = new Promise<void>((resolve) => {
      socket.on('data', (d) => {
        reply += d.toString('latin1');
        if (reply.includes('\r\n\r\n')) resolve();
      });
      socket.on('close', () => resolve());
    });
    socket.write(
      'POST /v1/objectives/one-conn HTTP/1.1\r\nhost: x\r\nx-request-id: slow-body\r\ncontent-length: 100\r\n\r\nx',
    );
    const other = request(`${j.url}/v1/objectives/one-conn-other`, { method: 'POST', body: '{}' });
    await answered;
    socket.destroy();
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    const r = await other;
    expect(await r.body.json()).toEqual({ served: 'ok' });
    expect(await recordOf('slow-body')).toMatchObject({ status: 408, errorCode: 'request_timeout' });
  });

  it('a large body streamed upstream is cut the same way once it falls below the rate', async () => {
    const socket = connect(Number(new URL(j.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    let reply = '';
    const answered = new Promise<void>((resolve) => {
      socket.on('data', (d) => {
        reply += d.toString('latin1');
        if (reply.includes('\r\n\r\n')) resolve();
      });
      socket.on('close', () => resolve());
    });
    socket.write(
      `POST /v1/objectives/one-conn HTTP/1.1\r\nhost: x\r\nx-request-id: slow-large\r\ncontent-length: ${1024 * 1024}\r\n\r\n${'x'.repeat(100)}`,
    );
    await answered;
    socket.destroy();
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(await recordOf('slow-large')).toMatchObject({ status: 408, errorCode: 'request_timeout' });
    const r = await request(`${j.url}/v1/objectives/one-conn-other`, { method: 'POST', body: '{}' });
    expect(await r.body.json()).toEqual({ served: 'ok' });
  });
});
