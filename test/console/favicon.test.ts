// The console's icon through a real Junction with the admin token on: browsers
// ask for /favicon.ico on any page of the admin port before any token is
// given, so it must answer the icon rather than meet the auth check (a 401 in
// every browser console otherwise), and so must the icon the page links.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { REPO_ROOT } from '../support/onnx.js';

let j: Junction;

beforeAll(async () => {
  j = await startJunction({
    configFile: join(REPO_ROOT, 'examples/quickstart.yaml'),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, token: 'favicon-test-token' } },
    log: { error() {}, warn() {}, info() {} },
  });
}, 60_000);

afterAll(async () => {
  await j?.close();
});

describe('the console icon', () => {
  it('answers /favicon.ico and /ui/favicon.svg without a token, as an SVG', async () => {
    for (const path of ['/favicon.ico', '/ui/favicon.svg']) {
      const res = await fetch(`${j.control!.adminUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>$/s);
    }
    // Only the icon is public: the admin API next to it still asks for the token.
    const api = await fetch(`${j.control!.adminUrl}/admin/config`);
    expect(api.status).toBe(401);
    await api.arrayBuffer();
    const post = await fetch(`${j.control!.adminUrl}/favicon.ico`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(post.status).toBe(405);
    await post.arrayBuffer();
  });
});
