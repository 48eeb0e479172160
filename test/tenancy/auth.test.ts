// Tenancy, through the data plane's own handler (inject): API keys (only
// digests in config), objective globs, overrides, rate limits with Retry-After
// — and no key anywhere it should not be: upstream, logs, request records,
// error bodies.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import type { RequestRecord } from '../../src/observe/record.js';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { oneObjective } from '../support/configs.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { injectedRequest } from '../support/inject.js';

let upstream: Upstream;
const junctions: Junction[] = [];
const KEY = newKey();
const LIMITED = newKey();
const OVERRIDER = newKey();

beforeAll(async () => {
  upstream = await startUpstream('up');
});
afterEach(async () => {
  await Promise.all(junctions.splice(0).map((j) => j.close()));
});
afterAll(() => upstream.close());

const clients = {
  web: { keySha256: keyDigest(KEY), objectives: ['ob*'] },
  batch: { keySha256: keyDigest(LIMITED), rateLimit: { rps: 0.5, burst: 2 } },
  ops: { keySha256: keyDigest(OVERRIDER), allowOverride: true },
};

const logged: unknown[] = [];
const records: RequestRecord[] = [];
const log = {
  error: (o: object, m: string) => logged.push([o, m]),
  warn: (o: object, m: string) => logged.push([o, m]),
  info: (o: object, m: string) => logged.push([o, m]),
};

async function junction(extra: object = { clients }): Promise<Junction> {
  // m@2 serves `other`; `obj` opens it for overrides (an override names only what its objective uses or opens).
  const config = oneObjective(
    { 'm@1': [upstream.url], 'm@2': [upstream.url] },
    { default: 'm@1', overrideTargets: ['m@2'] },
    extra,
  );
  config.objectives!.other = { default: 'm@2' };
  const j = await startJunction({ config, listen: false, log, observers: [(r) => records.push({ ...r })] });
  junctions.push(j);
  return j;
}

async function call(
  j: Junction,
  key: string | undefined,
  path = '/v1/objectives/obj',
  headers: Record<string, string> = {},
) {
  const r = await injectedRequest(() => j)(`${j.url}${path}`, {
    method: 'POST',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: '{}',
  });
  const text = await r.body.text();
  return { status: r.statusCode, code: r.headers['x-error-code'], headers: r.headers, text };
}

describe('API keys', () => {
  it('auth is on once a client is configured: no key or an unknown key is 401', async () => {
    const j = await junction();
    expect((await call(j, undefined)).code).toBe('unauthorized');
    expect((await call(j, 'jk_wrong')).code).toBe('unauthorized');
    expect((await call(j, KEY)).status).toBe(200);
  });

  it('an unknown objective is refused for the key first: without one, nobody learns which objectives exist', async () => {
    const j = await junction();
    expect((await call(j, undefined, '/v1/objectives/no-such')).code).toBe('unauthorized');
    expect((await call(j, 'jk_wrong', '/v1/objectives/no-such')).code).toBe('unauthorized');
    expect((await call(j, KEY, '/v1/objectives/no-such')).code).toBe('objective_not_found');
  });

  it('a client may call only the objectives its globs allow (403 forbidden)', async () => {
    const j = await junction();
    expect((await call(j, KEY, '/v1/objectives/other')).code).toBe('forbidden');
    expect((await call(j, LIMITED, '/v1/objectives/other')).status).toBe(200);
  });

  it('overrides need a client allowed to override', async () => {
    const j = await junction();
    expect((await call(j, KEY, undefined, { 'x-model-override': 'm@2' })).code).toBe('override_forbidden');
    const r = await call(j, OVERRIDER, undefined, { 'x-model-override': 'm@2' });
    expect(r.status).toBe(200);
    expect(r.headers['x-model']).toBe('m@2');
  });

  it('anonymous access is an explicit choice; a wrong key is still refused', async () => {
    const j = await junction({ clients, auth: { anonymous: true } });
    expect((await call(j, undefined)).status).toBe(200);
    expect((await call(j, 'jk_wrong')).code).toBe('unauthorized');
  });

  it('without clients, Junction is open', async () => {
    const j = await junction({});
    expect((await call(j, undefined)).status).toBe(200);
  });

  it('over the rate limit: 429 rate_limited with Retry-After', async () => {
    const j = await junction();
    expect((await call(j, LIMITED)).status).toBe(200);
    expect((await call(j, LIMITED)).status).toBe(200);
    const r = await call(j, LIMITED);
    expect(r.status).toBe(429);
    expect(r.code).toBe('rate_limited');
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(2);
    expect((await call(j, KEY)).status).toBe(200); // other clients are unaffected
  });

  it('keys reach no upstream, no log, no record and no error body; records carry the client name', async () => {
    logged.length = 0;
    records.length = 0;
    const j = await junction();
    const replies = [
      await call(j, KEY),
      await call(j, KEY, '/v1/objectives/other'),
      await call(j, 'jk_secret-wrong'),
      await call(j, LIMITED),
    ];
    await vi.waitFor(() => expect(records.length).toBe(4)); // records reach observers when each response closes
    const everything = JSON.stringify({ replies, logged, records, received: upstream.received.map((r) => r.headers) });
    for (const secret of [KEY, LIMITED, 'jk_secret-wrong']) expect(everything).not.toContain(secret);
    expect(upstream.received.every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(records.map((r) => r.client)).toEqual(['web', 'web', undefined, 'batch']);
  });
});
