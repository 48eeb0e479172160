// Nothing before the key (issue 10, findings 4–7): with clients configured, a
// caller without a valid key gets 401 before any body is read and before
// anything is disclosed; what is disclosed to a keyed caller holds no client
// list, no key digests, no credentials; overrides stay inside the objective
// called; decide's exposures are attributed to the client that asked.
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issues.js';
import type { EndedRecord } from '../../src/observe/record.js';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const KEY = newKey();
const OTHER = newKey();
let up: Upstream;
let cred: Upstream;
let j: Junction;
const decided: EndedRecord[] = [];

const raw = (url: string) => ({ backend: { type: 'http', protocol: 'raw', endpoints: [url] } });

beforeAll(async () => {
  [up, cred] = await Promise.all([startUpstream('up'), startUpstream('cred')]);
  j = await startJunction({
    port: 0,
    server: { maxBufferedBytes: 1024 * 1024 },
    config: {
      models: {
        m: { versions: { '1': raw(up.url), '9': raw('http://127.0.0.1:1/?api_key=s3cret') } },
        cred: { versions: { '1': raw(cred.url) } },
      },
      objectives: {
        a: { default: 'm@1', allowOverride: true },
        chat: { interface: 'openai', default: 'm@1' },
        secret: { default: 'cred@1' },
        down: { default: 'm@9' },
      },
      clients: {
        web: { keySha256: keyDigest(KEY), objectives: ['a', 'chat', 'down'], allowOverride: true },
        ops: { keySha256: keyDigest(OTHER) },
      },
    },
  });
  j.dataPlane.decided = [(r) => decided.push(r)];
});

afterAll(async () => {
  await j.close();
  await Promise.all([up.close(), cred.close()]);
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** Sends only a request head (declaring a body it never sends); resolves with the status line, or '' if none comes. */
function headOnly(head: string): Promise<string> {
  const { port } = new URL(j.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out.split('\r\n')[0] ?? '');
    });
    socket.write(head);
  });
}

describe('the key before the body (finding 4)', () => {
  it.each(['/v1/chat/completions', '/v1/decide', '/v1/objectives/a'])(
    '%s: a keyless 16 MiB declaration is refused 401 without waiting for the body',
    async (path) => {
      const line = await headOnly(
        `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${16 * 1024 * 1024}\r\n\r\n`,
      );
      expect(line).toBe('HTTP/1.1 401 Unauthorized');
    },
  );

  it('a keyless Expect: 100-continue gets 401, never 100 Continue', async () => {
    const line = await headOnly(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 1000000\r\n\r\n`,
    );
    expect(line).toBe('HTTP/1.1 401 Unauthorized');
  });

  it('bodies buffered at once share one budget: beyond it 503, not more memory', async () => {
    const big = 700 * 1024;
    // The first holds 700 KiB of the 1 MiB budget while its body trickles in…
    const { port } = new URL(j.url);
    const first = connect(Number(port), '127.0.0.1');
    first.on('error', () => undefined);
    first.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n${`authorization: Bearer ${KEY}`}\r\ncontent-length: ${big}\r\n\r\n{"model":"chat",`,
    );
    while (j.dataPlane.bodies!.memory.inUse < big) await new Promise((r) => setTimeout(r, 5)); // admitted and reading
    // …so a second one that would need as much is refused at once.
    const line = await headOnly(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-length: ${big}\r\n\r\n`,
    );
    first.destroy();
    expect(line).toBe('HTTP/1.1 503 Service Unavailable');
  });

  it('the OpenAI model is found without parsing the whole document', async () => {
    // 200k nested arrays: a full JSON.parse would throw on the depth; the byte scan does not care.
    const body = `{"model":"chat","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const r = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth(KEY), 'content-type': 'application/json' },
      body,
    });
    await r.body.dump();
    expect(r.statusCode).toBe(200);
    expect(up.received.at(-1)!.body.length).toBe(Buffer.byteLength(body));
  });
});

describe('nothing disclosed without a key (finding 5)', () => {
  it.each([
    ['GET', '/v1/config/snapshot'],
    ['GET', '/v1/objectives/a/explain'],
    ['GET', '/metrics'],
    ['POST', '/v1/decide'],
  ])('%s %s needs a key', async (method, path) => {
    const r = await request(`${j.url}${path}`, {
      method: method as 'GET',
      body: method === 'POST' ? '{"objective":"a"}' : undefined,
    });
    await r.body.dump();
    expect(r.statusCode).toBe(401);
    const ok = await request(`${j.url}${path}`, {
      method: method as 'GET',
      headers: auth(KEY),
      body: method === 'POST' ? '{"objective":"a"}' : undefined,
    });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
  });

  it('the snapshot holds no clients, key digests or URL credentials', async () => {
    const text = await (await request(`${j.url}/v1/config/snapshot`, { headers: auth(KEY) })).body.text();
    expect(text).not.toContain('clients');
    expect(text).not.toContain(keyDigest(KEY));
    expect(text).not.toContain('s3cret');
    expect(JSON.parse(text).config.objectives.a.default).toBe('m@1');
  });

  it("explain names only a key's own objectives", async () => {
    const r = await request(`${j.url}/v1/objectives/secret/explain`, { headers: auth(KEY) });
    await r.body.dump();
    expect(r.statusCode).toBe(403);
  });

  it('error bodies do not reveal internal addresses or URL query credentials', async () => {
    const r = await request(`${j.url}/v1/objectives/down`, { method: 'POST', headers: auth(KEY), body: '{}' });
    const text = await r.body.text();
    expect(r.statusCode).toBe(502);
    expect(text).not.toMatch(/127\.0\.0\.1|s3cret|ECONNREFUSED [0-9]/);
  });

  it('credentials in an endpoint URL are refused by validation', () => {
    expect(() =>
      validateConfig({
        models: { m: { versions: { '1': raw('http://user:pass@127.0.0.1:9/') } } },
        objectives: { a: { default: 'm@1' } },
      }),
    ).toThrow(ConfigError);
  });
});

describe('overrides stay inside the objective called (finding 6; issue 22, finding 8)', () => {
  it('a target only another objective serves is override_forbidden', async () => {
    const r = await request(`${j.url}/v1/objectives/a`, {
      method: 'POST',
      headers: { ...auth(KEY), 'x-model-override': 'cred@1' },
      body: '{}',
    });
    const body = (await r.body.json()) as { error: { code: string } };
    expect(r.statusCode).toBe(403);
    expect(body.error.code).toBe('override_forbidden');
    expect(cred.received).toHaveLength(0);
  });

  it("a target another objective the key may call uses is still not this objective's (issue 22, finding 8)", async () => {
    // m@9 is `down`'s default; `a` neither routes to it nor opens it in overrideTargets.
    const r = await request(`${j.url}/v1/objectives/a`, {
      method: 'POST',
      headers: { ...auth(KEY), 'x-model-override': 'm@9' },
      body: '{}',
    });
    const body = (await r.body.json()) as { error: { code: string } };
    expect(r.statusCode).toBe(403);
    expect(body.error.code).toBe('override_forbidden');
  });

  it("a target of the objective's own is allowed", async () => {
    const r = await request(`${j.url}/v1/objectives/down`, {
      method: 'POST',
      headers: { ...auth(KEY), 'x-model-override': 'm@9' },
      body: '{}',
    });
    await r.body.dump();
    expect(r.headers['x-model']).toBe('m@9');
  });
});

describe('decide is keyed and attributed (finding 7)', () => {
  it('a keyless batch writes no exposure; a keyed one is attributed to its client, items outside its globs refused', async () => {
    decided.length = 0;
    const items = Array.from({ length: 50 }, (_, i) => ({ objective: 'a', unit: `u${i}` }));
    const anon = await request(`${j.url}/v1/decide`, { method: 'POST', body: JSON.stringify({ requests: items }) });
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    expect(decided).toHaveLength(0);

    const r = await request(`${j.url}/v1/decide`, {
      method: 'POST',
      headers: auth(KEY),
      body: JSON.stringify({ requests: [...items, { objective: 'secret' }] }),
    });
    const body = (await r.body.json()) as { decisions: Array<{ error?: { code: string } }> };
    expect(body.decisions.at(-1)!.error!.code).toBe('forbidden');
    expect(decided.filter((d) => d.status === 200)).toHaveLength(50);
    expect(new Set(decided.map((d) => d.client))).toEqual(new Set(['web']));
  });
});
