// GET /v1/config/snapshot: only what deciding needs, an ETag per revision, and
// the long-poll an SDK watches (answered by a newer revision or a 304).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';

const quiet = { error() {}, warn() {}, info() {} };
const DIGEST = 'a'.repeat(64);

function config(def: string) {
  return {
    models: {
      m: {
        class: 'scorer',
        versions: {
          '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9/base?api_key=secret'] } },
          '2': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9/two'] } },
        },
      },
    },
    objectives: { cw: { default: def, rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@2' }] } },
    clients: { app: { keySha256: DIGEST } },
    auth: { anonymous: true },
  };
}

async function snapshot(url: string, headers: Record<string, string> = {}, query = '') {
  const res = await request(`${url}/v1/config/snapshot${query}`, { headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    etag: res.headers.etag as string | undefined,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

describe('snapshot', () => {
  let j: Junction;
  beforeAll(async () => {
    j = await startJunction({ port: 0, config: config('m@1'), control: { data: ':memory:' }, log: quiet });
  });
  afterAll(async () => j?.close());

  it('holds models and objectives, never clients, key digests or endpoint credentials', async () => {
    const s = await snapshot(j.url);
    expect(s.status).toBe(200);
    expect(s.etag).toBe(`"rev-${s.body.revision}"`);
    expect(s.body.format).toBe(1);
    expect(Object.keys(s.body.config).sort()).toEqual(['models', 'objectives']);
    const text = JSON.stringify(s.body);
    expect(text).not.toContain(DIGEST);
    expect(text).not.toContain('secret');
    expect(s.body.config.models.m.versions['1'].backend.endpoints).toEqual(['http://127.0.0.1:9/base?(redacted)']);
    expect(s.body.config.objectives.cw.rules[0].use).toBe('m@2');
  });

  it('answers 304 to the ETag it gave, at once without wait, after the wait with it', async () => {
    const first = await snapshot(j.url);
    expect((await snapshot(j.url, { 'if-none-match': first.etag! })).status).toBe(304);
    const waited = await snapshot(j.url, { 'if-none-match': first.etag! }, '?wait=0.2');
    expect(waited.status).toBe(304);
    expect(waited.etag).toBe(first.etag);
  });

  it('a long-poll is answered by the next applied revision', async () => {
    const first = await snapshot(j.url);
    const polling = snapshot(j.url, { 'if-none-match': first.etag! }, '?wait=30');
    await j.control!.plane.apply({ source: config('m@2'), author: 'test', message: 'flip' });
    const next = await polling;
    expect(next.status).toBe(200);
    expect(next.body.revision).toBe(first.body.revision + 1);
    expect(next.body.config.objectives.cw.default).toBe('m@2');
    expect(next.etag).toBe(`"rev-${first.body.revision + 1}"`);
  });

  it('an older ETag gets the live revision at once; a bad wait is a 400', async () => {
    const s = await snapshot(j.url, { 'if-none-match': '"rev-0"' }, '?wait=30');
    expect(s.status).toBe(200);
    expect((await snapshot(j.url, {}, '?wait=soon')).status).toBe(400);
  });
});

const skip = await postgresSkipReason();
describe.skipIf(skip !== undefined)(
  `snapshot long-poll across PostgreSQL replicas${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const schema = uniqueSchema('jsnap');
    let a: Junction;
    let b: Junction;
    beforeAll(async () => {
      a = await startJunction({ port: 0, config: config('m@1'), control: { store: storeUrl(schema) }, log: quiet });
      b = await startJunction({ port: 0, config: config('m@1'), control: { store: storeUrl(schema) }, log: quiet });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await dropSchema(schema);
    });

    it('a revision applied on one replica answers a long-poll on the other within a second', async () => {
      const first = await snapshot(b.url);
      // wait=1: the answer must be the new revision, not the 304 the end of the wait gives.
      const polling = snapshot(b.url, { 'if-none-match': first.etag! }, '?wait=1');
      await a.control!.plane.apply({ source: config('m@2'), author: 'test', message: 'flip' });
      const next = await polling;
      expect(next.status).toBe(200);
      expect(next.body.config.objectives.cw.default).toBe('m@2');
    });
  },
);
