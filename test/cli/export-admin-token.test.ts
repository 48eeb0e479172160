// `junction export nginx --admin URL --watch` against a real Junction whose admin
// API needs a token and whose data plane needs API keys: the admin token alone
// follows revisions; a refused token says "unauthorized" with the fix and ends
// the process with exit 1 (at start, or when the token stops working mid-watch)
// instead of retrying forever as if Junction were unreachable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { keyDigest } from '../../src/tenancy/keys.js';

const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
const TOKEN = 'export-admin-token';
const quiet = { error() {}, warn() {}, info() {} };
const dir = mkdtempSync(join(tmpdir(), 'junction-export-token-'));

/** One remote target; clients configured, so the data plane's snapshot would need an API key. */
const config = (port: number) =>
  ({
    models: { m: { versions: { '1': { backend: { type: 'http', endpoints: [`http://127.0.0.1:${port}/score`] } } } } },
    objectives: { o: { default: 'm@1' } },
    clients: { app: { keySha256: keyDigest('an-api-key-the-exporter-does-not-have') } },
  }) as unknown as Config;

function junctionWithToken(token: string, adminPort = 0): Promise<Junction> {
  return startJunction({
    port: 0,
    config: config(9101),
    control: { data: ':memory:', admin: { port: adminPort, token } },
    log: quiet,
  });
}

interface Exporter {
  child: ChildProcess;
  stderr(): string;
  /** The exit code once it exits (polled by the tests, never awaited unbounded). */
  code(): number | null;
}

// Each exporter starts from source (tsx): on a loaded machine (the whole suite on two cores) that alone can take
// a minute, so the bounds below are wide; each wait still ends as soon as its condition holds.
const running: ChildProcess[] = [];
function exportNginx(admin: string, token: string, out: string): Exporter {
  const args = ['export', 'nginx', '--admin', admin, '--listen', '127.0.0.1:8090', '--junction', 'http://127.0.0.1:1'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--out', out, '--watch'], {
    env: { ...process.env, JUNCTION_ADMIN_TOKEN: token, JUNCTION_API_KEY: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(child);
  let err = '';
  let code: number | null = null;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.once('exit', (c) => {
    code = c ?? -1;
  });
  return { child, stderr: () => err, code: () => code };
}

let j: Junction;
beforeAll(async () => {
  j = await junctionWithToken(TOKEN);
});
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});
afterAll(async () => {
  await j?.close();
});

describe('export nginx --watch with the admin token', () => {
  it('the data plane wants an API key the exporter has not got: the snapshot refuses it', async () => {
    // The premise of this file: following revisions through the data plane cannot work here.
    const res = await request(`${j.url}/v1/config/snapshot`);
    await res.body.dump();
    expect(res.statusCode).toBe(401);
  });

  it('follows applied revisions with the admin token alone', async () => {
    const out = join(dir, 'right.conf');
    const ex = exportNginx(j.control!.adminUrl!, TOKEN, out);
    await expect.poll(() => existsSync(out), { timeout: 120_000, interval: 25 }).toBe(true);
    const first = readFileSync(out, 'utf8');
    expect(first).toContain('server 127.0.0.1:9101;');
    const before = Number(/from config revision (\d+)\./.exec(first)?.[1]);
    await j.control!.plane.apply({ source: config(9102), author: 'test', message: 'move m@1' });
    await expect
      .poll(() => readFileSync(out, 'utf8'), { timeout: 60_000, interval: 25 })
      .toContain('server 127.0.0.1:9102;');
    expect(readFileSync(out, 'utf8')).toContain(`from config revision ${before + 1}.`);
    expect(ex.code(), ex.stderr()).toBeNull(); // still watching
    expect(ex.stderr()).not.toMatch(/unreachable|unauthorized/);
    // SIGTERM ends the watch at once, long-poll held or not.
    ex.child.kill('SIGTERM');
    await expect.poll(() => ex.code(), { timeout: 30_000, interval: 25 }).toBe(0);
  }, 240_000);

  it('a wrong token says unauthorized with the fix and exits 1, writing nothing', async () => {
    const out = join(dir, 'wrong.conf');
    const ex = exportNginx(j.control!.adminUrl!, 'not-the-token', out);
    await expect.poll(() => ex.code(), { timeout: 120_000, interval: 25 }).toBe(1);
    expect(ex.stderr()).toMatch(/unauthorized \(HTTP 401\).*refused the token: set JUNCTION_ADMIN_TOKEN/);
    expect(ex.stderr()).not.toContain('unreachable');
    expect(existsSync(out)).toBe(false);
  }, 180_000);

  it('a token that stops working mid-watch (Junction restarted with another) ends the watch with exit 1', async () => {
    const old = await junctionWithToken('token-before');
    const adminPort = Number(new URL(old.control!.adminUrl!).port);
    const out = join(dir, 'rotated.conf');
    const ex = exportNginx(old.control!.adminUrl!, 'token-before', out);
    let restarted: Junction | undefined;
    try {
      await expect.poll(() => existsSync(out), { timeout: 120_000, interval: 25 }).toBe(true);
      await old.close();
      // While it is down the exporter says so and retries; then the same port asks for another token.
      await expect.poll(() => ex.stderr(), { timeout: 60_000, interval: 25 }).toContain('unreachable');
      restarted = await junctionWithToken('token-after', adminPort);
      await expect.poll(() => ex.code(), { timeout: 120_000, interval: 25 }).toBe(1);
      expect(ex.stderr()).toMatch(/unauthorized \(HTTP 401\)/);
      expect(readFileSync(out, 'utf8')).toContain('server 127.0.0.1:9101;'); // the last good file stays
    } finally {
      await old.close().catch(() => undefined);
      await restarted?.close();
    }
  }, 360_000);
});

describe('GET /admin/config?after=N&wait=S', () => {
  const get = async (query: string) => {
    const res = await request(`${j.control!.adminUrl}/admin/config${query}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return { status: res.statusCode, body: (await res.body.json()) as { revision: number } };
  };

  it('answers at once when a newer revision is live, else when the next one is applied', async () => {
    const live = (await get('')).body.revision;
    expect((await get(`?after=${live - 1}&wait=30`)).body.revision).toBe(live);
    const held = get(`?after=${live}&wait=30`);
    await j.control!.plane.apply({ source: config(9103), author: 'test', message: 'next' });
    expect((await held).body.revision).toBe(live + 1);
  });

  it('answers the live revision when the wait ends; a bad after is a 400', async () => {
    const live = (await get('')).body.revision;
    expect(await get(`?after=${live}&wait=0.05`)).toMatchObject({ status: 200, body: { revision: live } });
    expect((await get('?after=x&wait=1')).status).toBe(400);
  });
});
