import { describe, expect, it } from 'vitest';
import { issuesOf } from '../../../test/support/config-issues.js';
import { Protocol } from '../schema.js';
import { PROTOCOL_NAMES, PROTOCOLS } from './index.js';

const version = (protocol: string, endpoint: string) => ({
  backend: { type: 'http', protocol, endpoints: [endpoint] },
});

describe('wire protocols: declared once, read by the schema and validation', () => {
  it('the schema accepts exactly the declared protocols', () => {
    expect(Protocol.options).toEqual([...PROTOCOL_NAMES]);
    expect(PROTOCOL_NAMES).toEqual(['oip', 'openai', 'openai-chat', 'anthropic', 'tfserving', 'raw', 'oip-grpc']);
  });

  it('each endpoint in a scheme its protocol declares', () => {
    const models = {
      m: {
        versions: {
          grpcUnderOip: version('oip', 'grpc://10.0.0.1:8001'),
          httpUnderGrpc: version('oip-grpc', 'http://10.0.0.1:8000/?token=x'),
          fine: version('oip-grpc', 'grpcs://10.0.0.1:8001'),
        },
      },
    };
    expect(issuesOf({ models, objectives: { o: { interface: 'oip', default: 'm@fine' } } })).toEqual([
      'models.m.versions.grpcUnderOip.backend.endpoints[0]: protocol oip needs http:// or https:// endpoints (grpc:// is for protocol oip-grpc)',
      'models.m.versions.httpUnderGrpc.backend.endpoints[0]: protocol oip-grpc needs grpc://host:port (or grpcs://) endpoints, not http://10.0.0.1:8000/',
    ]);
  });

  it('a target serves the interfaces its protocol declares', () => {
    // Written out, not read from the declarations: a change to what a protocol serves must show here.
    const serves: Record<string, readonly string[]> = {
      oip: ['oip'],
      openai: ['openai'],
      'openai-chat': ['openai'],
      anthropic: ['openai'],
      tfserving: ['json'],
      raw: ['json', 'oip', 'openai', 'bytes'],
      'oip-grpc': ['oip'],
    };
    expect(Object.keys(serves).sort()).toEqual([...PROTOCOL_NAMES].sort());
    for (const protocol of PROTOCOL_NAMES) {
      const endpoint = PROTOCOLS[protocol].transport === 'grpc' ? 'grpc://10.0.0.1:8001' : 'http://10.0.0.1:8000';
      for (const iface of ['json', 'oip', 'openai', 'bytes'] as const) {
        const problems = issuesOf({
          models: { m: { versions: { '1': version(protocol, endpoint) } } },
          objectives: { o: { interface: iface, default: 'm@1' } },
        });
        expect(problems.length === 0, `${protocol} serving ${iface}`).toBe(serves[protocol]!.includes(iface));
      }
    }
  });
});
