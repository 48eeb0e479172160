// oip-grpc over TLS (grpcs://, the backend's `tls` files and servername) and
// the backend's `headers` sent as metadata, secrets taken from the environment.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerCredentials, status } from '@grpc/grpc-js';
import { startJunction, type Junction } from '../../src/app.js';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';

let dir: string;
let triton: GrpcModelServer;
let junction: Junction;
let client: OipClient;

function makeCerts(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=junction-test-ca');
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=triton.internal');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:triton.internal\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'junction-grpc-tls-'));
  makeCerts();
  const creds = ServerCredentials.createSsl(null, [
    { private_key: readFileSync(join(dir, 'server.key')), cert_chain: readFileSync(join(dir, 'server.pem')) },
  ]);
  triton = await startGrpcModelServer({ simple: ['1'] }, 0, creds);
  process.env.JUNCTION_TEST_TRITON_KEY = 'sekret';
  junction = await startJunction({
    port: 0,
    grpc: { port: 0 },
    baseDir: dir,
    config: {
      models: {
        simple: {
          versions: {
            '1': {
              backend: {
                type: 'http',
                protocol: 'oip-grpc',
                endpoints: [triton.url],
                tls: { ca: 'ca.pem', servername: 'triton.internal' },
                headers: { 'x-api-key': '${env:JUNCTION_TEST_TRITON_KEY}' },
              },
            },
            untrusted: {
              backend: {
                type: 'http',
                protocol: 'oip-grpc',
                endpoints: [triton.url],
                version: '1',
                tls: { servername: 'triton.internal' },
              },
            },
          },
        },
      },
      objectives: {
        secure: { interface: 'oip', default: 'simple@1' },
        untrusted: { interface: 'oip', default: 'simple@untrusted' },
      },
    },
  });
  client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
});

afterAll(async () => {
  delete process.env.JUNCTION_TEST_TRITON_KEY;
  client?.close();
  await junction?.close();
  await triton?.close();
  delete process.env.JUNCTION_TEST_TRITON_KEY;
  rmSync(dir, { recursive: true, force: true });
});

describe('oip-grpc with TLS and headers', () => {
  it('reaches a grpcs:// endpoint verified against the configured CA and name, sending the configured headers', async () => {
    expect(triton.url).toMatch(/^grpcs:/);
    const r = await client.call('ModelInfer', { model_name: 'secure', inputs: [] });
    expect(r.error).toBeUndefined();
    expect(r.metadata['x-model']).toBe('simple@1');
    expect(triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.metadata['x-api-key']).toBe('sekret');
    // Health checks carry the credentials too: a backend behind a key must not look down to them.
    const checks = triton.received.filter((x) => x.method === 'ServerReady' || x.method === 'ModelReady');
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) expect(c.metadata['x-api-key']).toBe('sekret');
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const r = await client.call('ModelInfer', { model_name: 'untrusted', inputs: [] });
    expect(r.error?.code).toBe(status.UNAVAILABLE);
    expect(['upstream_error', 'no_healthy_backend']).toContain(r.metadata['x-error-code']);
  });
});
