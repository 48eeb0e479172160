// The admin API and browsers (issue 22, finding 6): in --insecure-admin mode
// (the quickstart's `npm start`) a form on another local origin posted a
// rollback and it was applied. Over real sockets, in the mode the quickstart
// runs: a form-style or cross-origin change is refused and writes nothing, a
// DNS-rebinding Host is refused, and Junction's own CLI and console requests
// still work. The same check runs with a token.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const quiet = { error() {}, warn() {}, info() {} };
let a: Upstream;
let open: Junction;
let keyed: Junction;
const TOKEN = 'origin-token';

beforeAll(async () => {
  a = await startUpstream('a');
  open = await startJunction({
    config: twoTargets(a.url, a.url),
    port: 0,
    log: quiet,
    control: { data: ':memory:', admin: { port: 0, insecure: true, allowedHosts: ['admin.internal'] } },
  });
  keyed = await startJunction({
    config: twoTargets(a.url, a.url),
    port: 0,
    log: quiet,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
  });
  // A second revision, so a rollback to 1 would change something.
  const r = await send(open, 'PUT', '/admin/config', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(twoTargets(a.url, a.url, 'm@2')),
  });
  expect(r.status).toBe(200);
});
afterAll(async () => {
  await open.close();
  await keyed.close();
  await a.close();
});

/** One request with exactly these headers (node:http lets a test set Host, as a browser under DNS rebinding would). */
function send(
  j: Junction,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; json: any }> {
  const url = new URL(j.control!.adminUrl!);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: opts.headers ?? {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode!, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function revisions(j: Junction): Promise<number> {
  return j.control!.plane.store.latestNumber();
}

const own = (j: Junction) => new URL(j.control!.adminUrl!).origin;

describe('the admin API refuses what another origin could send (--insecure-admin)', () => {
  it('a form on another local port posting a rollback is refused, and nothing changes', async () => {
    const before = await revisions(open);
    const live = open.runtime.current!.number;
    const r = await send(open, 'POST', '/admin/revisions/1/rollback', {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://127.0.0.1:5173',
        'sec-fetch-site': 'same-site',
        'sec-fetch-mode': 'navigate',
      },
      body: 'message=pwned',
    });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('forbidden');
    expect(r.headers['x-error-code']).toBe('forbidden');
    expect(await revisions(open)).toBe(before);
    expect(open.runtime.current!.number).toBe(live);
  });

  it('each signal alone is enough: another Origin, a cross-site fetch, a simple content type, none at all', async () => {
    const before = await revisions(open);
    const json = { 'content-type': 'application/json' };
    const cases: Record<string, string>[] = [
      { ...json, origin: 'http://127.0.0.1:5173' },
      { ...json, origin: 'null' },
      { ...json, 'sec-fetch-site': 'cross-site' },
      { ...json, 'sec-fetch-site': 'same-site' },
      { 'content-type': 'text/plain;charset=UTF-8', origin: own(open) },
      { 'content-type': 'multipart/form-data; boundary=x' },
      {},
    ];
    for (const headers of cases) {
      const r = await send(open, 'POST', '/admin/revisions/1/rollback', { headers, body: '' });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.json.error.code).toBe('forbidden');
    }
    // Reads from another origin are refused too (a browser would not show them, but nothing is answered).
    expect((await send(open, 'GET', '/admin/config', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(
      403,
    );
    expect(await revisions(open)).toBe(before);
  });

  it('a DNS-rebinding Host is refused; IP addresses, localhost and listed names are answered', async () => {
    const port = new URL(open.control!.adminUrl!).port;
    const rebound = await send(open, 'GET', '/admin/config', { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.json.error.message).toMatch(/--admin-allowed-host/);
    // Under rebinding the page is "same-origin" with itself: its Origin matches the Host, and still no.
    const before = await revisions(open);
    const change = await send(open, 'POST', '/admin/revisions/1/rollback', {
      headers: {
        host: `evil.example:${port}`,
        origin: `http://evil.example:${port}`,
        'content-type': 'application/json',
      },
    });
    expect(change.status).toBe(403);
    expect(await revisions(open)).toBe(before);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `admin.internal:${port}`]) {
      expect((await send(open, 'GET', '/admin/config', { headers: { host } })).status, host).toBe(200);
    }
  });

  it("the console's own calls (same origin, JSON) still change the config", async () => {
    const before = await revisions(open);
    const r = await send(open, 'POST', '/admin/revisions/1/rollback?author=console', {
      headers: {
        'content-type': 'application/json',
        origin: own(open),
        'sec-fetch-site': 'same-origin',
        'sec-fetch-mode': 'cors',
      },
      body: JSON.stringify({ message: 'rollback to revision 1 (console)' }),
    });
    expect(r.status).toBe(200);
    expect(await revisions(open)).toBe(before + 1);
    // The console's page opens from a link on another site (static files, no framing).
    const page = await send(open, 'GET', '/ui/', {
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
    });
    expect(page.status).not.toBe(403);
  });

  it("Junction's CLI still rolls back (it sends content-type: application/json without a body)", async () => {
    const before = await revisions(open);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await main(['rollback', '2', '--admin', open.control!.adminUrl!])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    expect(out.join('')).toMatch(/^rolled back: revision \d+ is live/);
    expect(await revisions(open)).toBe(before + 1);
  });
});

describe('with a token, the same check', () => {
  it('a cross-origin request carrying the token is still refused', async () => {
    const before = await revisions(keyed);
    const r = await send(keyed, 'POST', '/admin/revisions/1/rollback', {
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        origin: 'http://localhost:3000',
      },
    });
    expect(r.status).toBe(403);
    expect(await revisions(keyed)).toBe(before);
    const ok = await send(keyed, 'GET', '/admin/config', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
  });
});
