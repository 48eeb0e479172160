// Upstream credentials and TLS (SPEC §4) against a real HTTPS upstream that
// demands a client certificate (mutual TLS) and a bearer key, with
// certificates made for the test: `headers` with ${env:…}/${file:…} secrets,
// `tls: { ca, cert, key, servername }`, the caller's authorization never
// forwarded, a missing secret refusing the revision, and the secret value
// absent from everything Junction shows or writes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';

const SECRET = 'sk-test-9f3c1e77d2b04a8e';
const FILE_SECRET = 'tenant-secret-51ab0c';
const ENV = 'JUNCTION_TEST_UPSTREAM_KEY';
const TOKEN = 'admin-token-credentials';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  clientCert: string | undefined;
}

let certs: TestCerts;
let upstream: Server;
let upstreamUrl: string;
const seen: Seen[] = [];
let j: Junction;
let dataDir: string;
const logLines: string[] = [];

function config(
  headers: Record<string, string> = { authorization: `Bearer \${env:${ENV}}`, 'x-tenant': '${file:tenant.txt}' },
) {
  return {
    models: {
      chat: {
        class: 'generator',
        versions: {
          '1': {
            backend: {
              type: 'http',
              protocol: 'openai',
              model: 'served',
              endpoints: [upstreamUrl],
              headers,
              tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key' },
            },
          },
        },
      },
      // Same upstream, no client certificate: the TLS handshake is refused.
      nocert: {
        versions: {
          '1': { backend: { type: 'http', endpoints: [`${upstreamUrl}/raw`], headers, tls: { ca: 'ca.pem' } } },
        },
      },
      // Public CAs only: the test CA is not trusted.
      untrusted: { versions: { '1': { backend: { type: 'http', endpoints: [`${upstreamUrl}/raw`], headers } } } },
      // SNI/certificate name: upstream.test is in the certificate, the IP dialled stays 127.0.0.1.
      named: {
        versions: {
          '1': {
            backend: {
              type: 'http',
              endpoints: [`${upstreamUrl}/raw`],
              headers,
              tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key', servername: 'upstream.test' },
            },
          },
        },
      },
    },
    objectives: {
      chat: { interface: 'openai', default: 'chat@1', observability: { decisionLogSample: 1 } },
      nocert: { interface: 'json', default: 'nocert@1' },
      untrusted: { interface: 'json', default: 'untrusted@1' },
      named: { interface: 'json', default: 'named@1' },
    },
  };
}

beforeAll(async () => {
  certs = makeTestCerts();
  writeFileSync(join(certs.dir, 'tenant.txt'), `${FILE_SECRET}\n`);
  process.env[ENV] = SECRET;
  upstream = createServer(
    { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({ path: req.url ?? '', headers: req.headers, clientCert: String(peer.subject?.CN) });
      req.resume();
      req.on('end', () => {
        if (req.headers.authorization !== `Bearer ${SECRET}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"bad key"}}');
          return;
        }
        const path = (req.url ?? '').split('?')[0];
        const body =
          path === '/v1/models'
            ? { object: 'list', data: [{ id: 'served', object: 'model' }] }
            : {
                id: 'c1',
                object: 'chat.completion',
                model: 'served',
                choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
              };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    },
  );
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  dataDir = mkdtempSync(join(tmpdir(), 'junction-cred-'));
  const log = {
    error: (o: object, m: string) => logLines.push(JSON.stringify({ ...o, m }, errorSafe)),
    warn: (o: object, m: string) => logLines.push(JSON.stringify({ ...o, m }, errorSafe)),
    info: (o: object, m: string) => logLines.push(JSON.stringify({ ...o, m }, errorSafe)),
  };
  j = await startJunction({
    port: 0,
    config: config(),
    baseDir: certs.dir,
    log,
    accessLog: true,
    decisionLog: join(dataDir, 'decisions.jsonl'),
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
  });
});

afterAll(async () => {
  await j?.close();
  await new Promise<void>((r) => {
    upstream.closeAllConnections();
    upstream.close(() => r());
  });
  delete process.env[ENV];
  certs.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Errors serialize with their message and stack, the way pino writes them. */
function errorSafe(_key: string, value: unknown): unknown {
  return value instanceof Error ? { message: value.message, stack: value.stack, cause: String(value.cause) } : value;
}

async function text(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, init);
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const adminGet = (path: string) =>
  text(`${j.control!.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
const callJson = (objective: string) =>
  text(`${j.url}/v1/objectives/${objective}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer caller-own-key' },
    body: '{}',
  });

describe('upstream credentials and TLS', () => {
  it("calls an mTLS upstream with the configured secrets and never the caller's authorization", async () => {
    const res = await text(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer caller-own-key' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const call = seen.filter((s) => s.path === '/v1/chat/completions').at(-1)!;
    expect(call.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(call.headers['x-tenant']).toBe(FILE_SECRET);
    expect(call.clientCert).toBe('junction-client');
    expect(JSON.stringify(seen.map((s) => s.headers))).not.toContain('caller-own-key');
  });

  it('sends the configured headers with health checks (a hosted API lists models only with its key)', async () => {
    const check = seen.find((s) => s.path === '/v1/models' && s.headers['user-agent'] === 'junction-health-check');
    expect(check?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect((await text(`${j.url}/readyz`)).status).toBe(200);
  });

  it('uses servername for SNI and the certificate check', async () => {
    const res = await callJson('named');
    expect(res.status).toBe(200);
  });

  it('a handshake the upstream refuses, or a CA that is not trusted, is an upstream_error', async () => {
    for (const objective of ['nocert', 'untrusted']) {
      const res = await callJson(objective);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.body).error.code).toBe('upstream_error');
    }
  });

  it('refuses a revision whose secret cannot be resolved, naming its path; the running revision stays', async () => {
    const before = JSON.parse((await adminGet('/admin/config')).body).revision as number;
    for (const [headers, path, what] of [
      [
        { authorization: 'Bearer ${env:JUNCTION_TEST_NOT_SET}' },
        'models.chat.versions.1.backend.headers.authorization',
        'JUNCTION_TEST_NOT_SET',
      ],
      [{ 'x-key': '${file:missing-key.txt}' }, 'models.chat.versions.1.backend.headers.x-key', 'missing-key.txt'],
    ] as const) {
      const res = await text(`${j.control!.adminUrl}/admin/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(config(headers)),
      });
      expect(res.status).toBe(400);
      expect(res.body).toContain(path);
      expect(res.body).toContain(what);
    }
    expect(JSON.parse((await adminGet('/admin/config')).body).revision).toBe(before);
    expect((await callJson('named')).status).toBe(200);
  });

  it('never shows a secret value: admin API, revisions, diffs, snapshot, decision log, logs, errors, metrics', async () => {
    // A second revision so there is a diff, and a dry run with another.
    const changed = config();
    (changed.objectives.chat as Record<string, unknown>).policy = { timeoutMs: 5000 };
    const put = await text(`${j.control!.adminUrl}/admin/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(changed),
    });
    expect(put.status).toBe(200);
    const dry = await text(`${j.control!.adminUrl}/admin/config?dryRun=true`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(config({ authorization: 'Bearer ${env:' + ENV + '}' })),
    });
    const failed = await callJson('nocert');
    const revisions = JSON.parse((await adminGet('/admin/revisions')).body) as
      { revisions?: Array<{ number: number }> } | Array<{ number: number }>;
    const list = Array.isArray(revisions) ? revisions : (revisions.revisions ?? []);
    const outputs: Record<string, string> = {
      config: (await adminGet('/admin/config')).body,
      revisions: JSON.stringify(revisions),
      models: (await adminGet('/admin/models')).body,
      dryRunDiff: dry.body,
      putAnswer: put.body,
      snapshot: (await text(`${j.url}/v1/config/snapshot`)).body,
      metrics: (await text(`${j.url}/metrics`)).body,
      errorBody: failed.body,
      logs: logLines.join('\n'),
    };
    for (const r of list) outputs[`revision ${r.number}`] = (await adminGet(`/admin/revisions/${r.number}`)).body;
    expect(list.length).toBeGreaterThanOrEqual(2);
    expect(outputs.config).toContain(`\${env:${ENV}}`); // shown as written
    // The decision log is written asynchronously: wait until the last request is in it.
    const decisions = join(dataDir, 'decisions.jsonl');
    await expect
      .poll(() => readFileSync(decisions, 'utf8').includes(failed.headers['x-request-id'] as string))
      .toBe(true);
    outputs.decisionLog = readFileSync(decisions, 'utf8');
    for (const [what, out] of Object.entries(outputs)) {
      expect(out.length, what).toBeGreaterThan(0);
      expect(out, what).not.toContain(SECRET);
      expect(out, what).not.toContain(FILE_SECRET);
    }
  });
});
