// Issue 22, finding 2: with --tls-cert/--tls-key the gRPC listener serves TLS
// (the same certificate as the other listeners), so API keys never cross the
// network in clear; a plaintext gRPC port beside TLS needs --grpc-plaintext.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { LOADER_OPTIONS, PROTO_PATH } from '../../src/grpc/service.js';
import { loadListenerTls } from '../../src/http/listener.js';
import { spawnJunction } from '../support/junction-process.js';
import { REPO_ROOT } from '../support/onnx.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'junction-grpc-face-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ServerLive over a channel with these credentials: the status code (0 when it answered). */
function serverLive(port: number, creds: ChannelCredentials): Promise<number> {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, LOADER_OPTIONS)) as any;
  const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, creds);
  return new Promise<number>((resolve) => {
    client.ServerLive({}, { deadline: Date.now() + 5000 }, (err: ServiceError | null, value: { live?: boolean }) => {
      client.close();
      resolve(err ? err.code : value.live === true ? status.OK : status.UNKNOWN);
    });
  });
}

const tlsCreds = () => credentials.createSsl(readFileSync(join(dir, 'cert.pem')));
const config = { models: {}, objectives: {} };

describe('TLS on the gRPC listener', () => {
  it('startJunction with server.tls serves gRPC over TLS: a TLS client is answered, a plaintext one is not', async () => {
    const tls = loadListenerTls(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const j = await startJunction({ port: 0, server: { tls }, grpc: { port: 0 }, config });
    try {
      expect(j.grpc!.tls).toBe(true);
      expect(await serverLive(j.grpc!.port, tlsCreds())).toBe(status.OK);
      expect(await serverLive(j.grpc!.port, credentials.createInsecure())).toBe(status.UNAVAILABLE);
    } finally {
      await j.close();
    }
  });

  it('plaintext beside TLS only when asked for', async () => {
    const tls = loadListenerTls(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const j = await startJunction({ port: 0, server: { tls }, grpc: { port: 0, plaintext: true }, config });
    try {
      expect(j.grpc!.tls).toBe(false);
      expect(await serverLive(j.grpc!.port, credentials.createInsecure())).toBe(status.OK);
    } finally {
      await j.close();
    }
  });

  it('serve --tls-cert/--tls-key serves the gRPC port over TLS without --grpc-plaintext', async () => {
    const j = await spawnJunction([
      'serve',
      '--config',
      join(REPO_ROOT, 'examples/quickstart.yaml'),
      '--data',
      join(dir, 'data'),
      '--port',
      '0',
      '--admin-port',
      '0',
      '--grpc-port',
      '0',
      '--host',
      '127.0.0.1',
      '--insecure-admin',
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
    ]);
    try {
      const m = /gRPC on port (\d+) \(TLS\)/.exec(j.stdout());
      expect(m, j.stdout()).not.toBeNull();
      const port = Number(m![1]);
      expect(await serverLive(port, tlsCreds())).toBe(status.OK);
      expect(await serverLive(port, credentials.createInsecure())).toBe(status.UNAVAILABLE);
    } finally {
      await j.stop();
    }
  }, 60_000);
});
