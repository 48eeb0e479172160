import { describe, expect, it } from 'vitest';
import type { Call, Operation } from '../../call/types.js';
import type { HttpBackendConfig } from '../../config/schema.js';
import type { Target } from '../../routing/types.js';
import { JunctionError } from '../../errors.js';
import { PROTOCOL_NAMES, PROTOCOLS } from '../../config/protocols/index.js';
import { HTTP_WIRES } from './index.js';

const { oip, openai, tfserving, raw } = HTTP_WIRES as Required<typeof HTTP_WIRES>;

const backend = (extra: Partial<HttpBackendConfig> = {}): HttpBackendConfig => ({
  type: 'http',
  protocol: 'oip',
  endpoints: ['http://x'],
  connections: 1,
  ...extra,
});
const target = { id: 'ranker@7', model: 'ranker', version: '7' } as Target;
const call = (operation: Operation, query = '') =>
  ({ operation, query, target, objective: { name: 'o' }, method: 'POST', headers: {} }) as unknown as Call;

describe('wire protocol paths', () => {
  it('oip: every operation under /v2/models/{model}/versions/{version}', () => {
    expect(oip.path(call('infer', '?a=1'), backend())).toBe('/v2/models/ranker/versions/7/infer?a=1');
    expect(oip.path(call('invoke'), backend({ model: 'r', version: '3' }))).toBe('/v2/models/r/versions/3/infer');
    expect(oip.path(call('metadata'), backend())).toBe('/v2/models/ranker/versions/7');
    expect(oip.path(call('ready'), backend({ version: '' }))).toBe('/v2/models/ranker/ready');
    expect(oip.path(call('generate_stream'), backend({ model: 'a b' }))).toBe(
      '/v2/models/a%20b/versions/7/generate_stream',
    );
    expect(() => oip.path(call('embeddings'), backend())).toThrow(JunctionError);
  });

  it('oip readiness: empty 200 or {"ready": true}', () => {
    expect(oip.healthy!(200, Buffer.alloc(0))).toBe(true);
    expect(oip.healthy!(200, Buffer.from('{"name":"m","ready":true}'))).toBe(true);
    expect(oip.healthy!(200, Buffer.from('{"ready":false}'))).toBe(false);
    expect(oip.healthy!(400, Buffer.alloc(0))).toBe(false);
    expect(oip.healthPath(backend({ model: 'm' }), target)).toBe('/v2/models/m/versions/7/ready');
  });

  it('openai: one path per operation, readiness at /v1/models', () => {
    expect(openai.path(call('chat/completions'), backend())).toBe('/v1/chat/completions');
    expect(openai.path(call('completions'), backend())).toBe('/v1/completions');
    expect(openai.path(call('embeddings'), backend())).toBe('/v1/embeddings');
    expect(() => openai.path(call('infer'), backend())).toThrow(/no "infer" operation/);
    expect(openai.healthPath(backend(), target)).toBe('/v1/models');
  });

  it('tfserving: versions, labels, or the unversioned path', () => {
    expect(tfserving.path(call('invoke'), backend({ model: 'hpt' }))).toBe('/v1/models/hpt/versions/7:predict');
    expect(tfserving.path(call('invoke'), backend({ version: 'canary' }))).toBe(
      '/v1/models/ranker/labels/canary:predict',
    );
    expect(tfserving.path(call('metadata'), backend({ version: '' }))).toBe('/v1/models/ranker/metadata');
    expect(tfserving.healthy!(200, Buffer.from('{"model_version_status":[{"state":"AVAILABLE"}]}'))).toBe(true);
    expect(tfserving.healthy!(200, Buffer.from('{"model_version_status":[{"state":"LOADING"}]}'))).toBe(false);
  });
});

describe('oip over HTTP and gRPC messages', () => {
  it('refuses a ModelInfer that came over gRPC instead of sending protobuf to a JSON server', () => {
    const grpcCall = { ...call('infer'), headers: { 'content-type': 'application/grpc' } } as Call;
    expect(() => oip.path(grpcCall, backend())).toThrow(/reaches oip-grpc and in-process ONNX targets only/);
    expect(oip.path({ ...grpcCall, method: 'GET', operation: 'metadata' }, backend())).toBe(
      '/v2/models/ranker/versions/7',
    );
  });
});

describe('each protocol declared once', () => {
  it('every protocol carried over HTTP has its wire, and only those', () => {
    expect(Object.keys(HTTP_WIRES).sort()).toEqual(
      PROTOCOL_NAMES.filter((p) => PROTOCOLS[p].transport === 'http').sort(),
    );
    expect(HTTP_WIRES['oip-grpc']).toBeUndefined();
  });

  it('raw sends any operation to the endpoint as it is and has no readiness path of its own', () => {
    expect(raw.path(call('embeddings', '?x=1'), backend({ protocol: 'raw' }))).toBe('?x=1');
    expect(raw.healthPath(backend({ protocol: 'raw' }), target)).toBeUndefined();
    expect('rewriteBody' in raw).toBe(false);
  });

  it('only openai rewrites the body, and not on GET', () => {
    expect('rewriteBody' in oip).toBe(false);
    expect('rewriteBody' in tfserving).toBe(false);
    expect(openai.rewriteBody!({ ...call('chat/completions'), method: 'GET' }, backend())).toBeUndefined();
  });
});
