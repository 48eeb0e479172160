// `serve --tls-cert FILE --tls-key FILE`: the data plane and the admin API over
// HTTPS, checked with real TLS clients trusting only the test's own CA.
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';

const TOKEN = 'tls-admin-token';
let certs: TestCerts;
let j: JunctionProcess;
let agent: Agent;

beforeAll(async () => {
  certs = makeTestCerts();
  j = await spawnJunction(
    [
      'serve',
      '--config',
      'examples/quickstart.yaml',
      '--data',
      ':memory:',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--tls-cert',
      certs.serverCertFile,
      '--tls-key',
      certs.serverKeyFile,
    ],
    { JUNCTION_ADMIN_TOKEN: TOKEN },
  );
  agent = new Agent({ connect: { ca: certs.ca } });
}, 60_000);
afterAll(async () => {
  await j?.stop();
  await agent?.close();
  certs?.remove();
});

describe('serve over HTTPS', () => {
  it('prints https URLs and serves the data plane to a client trusting the CA', async () => {
    expect(j.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${j.url}/readyz`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    // node:https too, with the certificate checked against the server name.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${j.url}/healthz`, { ca: certs.ca, servername: 'localhost' }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
  });

  it('serves the admin API over HTTPS with its token', async () => {
    expect(j.adminUrl).toMatch(/^https:\/\//);
    const res = await request(`${j.adminUrl}/admin/revisions`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
  });

  it('a client that does not trust the certificate is refused the handshake; plain HTTP gets no answer', async () => {
    await expect(request(`${j.url}/healthz`)).rejects.toThrow(/certificate/i);
    await expect(request(j.url.replace('https:', 'http:') + '/healthz', { headersTimeout: 2000 })).rejects.toThrow();
  });
});
