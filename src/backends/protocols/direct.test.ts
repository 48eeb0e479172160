import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { publicBackend } from '../../config/redact.js';
import { onlyThroughJunction } from './direct.js';

const config = validateConfig({
  models: {
    m: {
      versions: {
        plain: { backend: { type: 'http', protocol: 'oip', endpoints: ['http://10.0.0.7:8000'] } },
        queried: { backend: { type: 'http', protocol: 'oip', endpoints: ['http://10.0.0.7:8000/v2?api_key=k'] } },
        keyed: {
          backend: {
            type: 'http',
            protocol: 'openai',
            endpoints: ['https://api.example.com/v1'],
            headers: { authorization: 'Bearer ${env:KEY}' },
          },
        },
        mtls: {
          backend: {
            type: 'http',
            protocol: 'raw',
            endpoints: ['https://10.0.0.8/score'],
            tls: { servername: 'scorer' },
          },
        },
        grpc: { backend: { type: 'http', protocol: 'oip-grpc', endpoints: ['grpc://10.0.0.9:8001'] } },
        local: { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } },
      },
    },
  },
  objectives: { o: { default: 'm@plain', interface: 'oip' } },
});
const backend = (v: string) => config.models.m!.versions[v]!.backend;

describe('onlyThroughJunction: what an SDK or a header-routed proxy may call itself', () => {
  it('calls plain HTTP targets directly, and leaves in-process, gRPC and credentialed targets to Junction', () => {
    expect(onlyThroughJunction(backend('plain'))).toBeUndefined();
    expect(onlyThroughJunction(backend('local'))).toMatch(/in Junction's process/);
    expect(onlyThroughJunction(backend('grpc'))).toMatch(/oip-grpc/);
    expect(onlyThroughJunction(backend('keyed'))).toMatch(/credentials/);
    expect(onlyThroughJunction(backend('mtls'))).toMatch(/credentials/);
  });

  it('gives the same answer on the snapshot, which hides the secrets but not that they are needed', () => {
    const shown = publicBackend(backend('keyed'));
    expect(JSON.stringify(shown)).not.toContain('${env:KEY}');
    expect(onlyThroughJunction(shown)).toMatch(/credentials/);
    expect(onlyThroughJunction(publicBackend(backend('mtls')))).toMatch(/credentials/);
    expect(onlyThroughJunction(publicBackend(backend('plain')))).toBeUndefined();
    // A key in the URL's query: the snapshot hides it, and says there was one.
    expect(onlyThroughJunction(backend('queried'))).toMatch(/query/);
    expect(onlyThroughJunction(publicBackend(backend('queried')))).toMatch(/query/);
  });
});
