// The gRPC face end to end over real sockets: a real gRPC client built from the
// repository's .proto, Junction with --grpc-port, in front of a real gRPC model
// server (test/support/servers/grpc-oip.ts) and in-process ONNX.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { loadOipGrpcService } from '../../src/grpc/service.js';
import type { RequestRecord } from '../../src/observe/record.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { REPO_ROOT } from '../support/onnx.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';

const service = loadOipGrpcService();
const encodeRequest = (value: object) => service.decoded.ModelInfer!.requestSerialize(value);
const grpcBackend = (url: string, extra: Record<string, unknown> = {}) => ({
  backend: { type: 'http', protocol: 'oip-grpc', endpoints: [url], health: { intervalMs: 100 }, ...extra },
});
const fp32 = (n: number) => Buffer.from(Float32Array.from({ length: n }, (_, i) => i / n).buffer);

describe('the gRPC face', () => {
  let triton: GrpcModelServer;
  let spare: GrpcModelServer;
  let junction: Junction;
  let client: OipClient;
  const records: RequestRecord[] = [];

  beforeAll(async () => {
    triton = await startGrpcModelServer({ simple: ['1', '3'] });
    spare = await startGrpcModelServer({ simple: ['1'] });
    junction = await startJunction({
      port: 0,
      baseDir: REPO_ROOT,
      grpc: { port: 0 },
      observers: [(r) => records.push(r)],
      config: {
        models: {
          simple: {
            versions: {
              '1': grpcBackend(triton.url),
              '3': grpcBackend(triton.url, { version: '3' }),
              // Renamed on the wire: Junction's simple@renamed is the backend's "simple" version 1.
              renamed: grpcBackend(triton.url, { model: 'simple', version: '1' }),
              spare: grpcBackend(spare.url, { version: '1' }),
              down: grpcBackend('grpc://127.0.0.1:9', { version: '1' }),
            },
          },
          ranker: { class: 'scorer', versions: { '6': { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } } } },
        },
        objectives: {
          identity: {
            interface: 'oip',
            default: 'simple@1',
            allowOverride: true,
            overrideTargets: ['simple@3'],
            rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'simple@renamed' }],
          },
          locked: { interface: 'oip', default: 'simple@1' },
          'with-fallback': { interface: 'oip', default: 'simple@down', policy: { fallback: ['simple@spare'] } },
          'no-fallback': { interface: 'oip', default: 'simple@down' },
          retried: { interface: 'oip', default: 'simple@spare', policy: { idempotent: true, retries: 2 } },
          rank: { interface: 'oip', default: 'ranker@6' },
          'json-only': { interface: 'json', default: 'ranker@6' },
          tight: { interface: 'oip', default: 'simple@1', policy: { maxBodyBytes: 1000 } },
          shadowed: { interface: 'oip', default: 'simple@1', shadow: [{ use: 'simple@spare', percent: 100 }] },
          bulkhead: { interface: 'oip', default: 'simple@1', policy: { maxConcurrency: 1 } },
        },
      },
    });
    client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
  });

  afterAll(async () => {
    client.close();
    await junction.close();
    await triton.close();
    await spare.close();
  });

  const infer = (objective: string, extra: Record<string, unknown> = {}) => ({
    model_name: objective,
    id: 'req-1',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['1', '4'], contents: { fp32_contents: [1, 2, 3, 4] } }],
    ...extra,
  });

  it('answers the server calls', async () => {
    expect((await client.call('ServerLive', {})).value).toEqual({ live: true });
    // Not ready: objective no-fallback's only backend is down (the same verdict as /readyz).
    expect((await client.call('ServerReady', {})).value).toEqual({ ready: false });
    expect((await client.call('ServerMetadata', {})).value).toMatchObject({ name: 'junction' });
  });

  it('routes ModelInfer by objective and says what it did in the response metadata', async () => {
    const r = await client.call('ModelInfer', infer('identity'), { 'x-unit-id': 'u1', 'x-request-id': 'grpc-req-1' });
    expect(r.error).toBeUndefined();
    expect(r.metadata).toMatchObject({ 'x-model': 'simple@1', 'x-request-id': 'grpc-req-1' });
    expect(r.metadata['x-decision']).toMatch(/rule=default/);
    expect(r.value).toMatchObject({
      model_name: 'simple',
      id: 'req-1',
      outputs: [{ name: 'OUTPUT0', contents: { fp32_contents: [1, 2, 3, 4] } }],
    });
    const got = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!;
    // The backend sees its own model name and version, Junction's request id, and a gRPC deadline.
    expect(got.request).toMatchObject({ model_name: 'simple', model_version: '1', id: 'req-1' });
    expect(got.metadata['x-request-id']).toBe('grpc-req-1');
    expect(got.metadata['x-unit-id']).toBe('u1');
    expect(got.deadlineMs).toBeLessThanOrEqual(30_000);
  });

  it('reads the routing headers from metadata', async () => {
    const r = await client.call('ModelInfer', infer('identity'), { 'x-context-country': 'BR' });
    expect(r.metadata['x-model']).toBe('simple@renamed');
    expect(r.metadata['x-decision']).toMatch(/rule=rule:br/);
    const bad = await client.call('ModelInfer', infer('identity'), { 'x-traffic-class': 'bogus' });
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.metadata['x-error-code']).toBe('invalid_request');
  });

  it('forwards a large raw_input_contents byte for byte, rewriting only the model name and version', async () => {
    const tensor = randomBytes(8 * 1024 * 1024);
    const message = {
      model_name: 'identity',
      model_version: '',
      id: 'big',
      parameters: { note: { string_param: 'kept' } },
      inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(tensor.length)] }],
      raw_input_contents: [tensor],
    };
    const r = await client.call('ModelInfer', message);
    expect(r.error).toBeUndefined();
    expect(Buffer.compare(r.value!.raw_output_contents[0], tensor)).toBe(0);
    const got = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!;
    const sent = encodeRequest(message);
    // Everything after fields 1 and 2 (from field 3, the id "big") arrives exactly as the client encoded it.
    const idField = Buffer.from([0x1a, 0x03, 0x62, 0x69, 0x67]);
    const sentTail = sent.subarray(sent.indexOf(idField));
    const gotTail = got.bytes!.subarray(got.bytes!.indexOf(idField));
    expect(sentTail.length).toBeGreaterThan(tensor.length);
    expect(gotTail.equals(sentTail)).toBe(true);
    expect(got.bytes!.subarray(0, got.bytes!.indexOf(idField))).toEqual(
      Buffer.from('\x0a\x06simple\x12\x011', 'latin1'),
    );
    expect(got.request).toMatchObject({
      model_name: 'simple',
      model_version: '1',
      parameters: { note: { string_param: 'kept' } },
    });
  });

  it('treats model_version as an override request, with the same permission as the header', async () => {
    const ok = await client.call('ModelInfer', infer('identity', { model_version: '3' }));
    expect(ok.metadata['x-model']).toBe('simple@3');
    expect(triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.request).toMatchObject({
      model_name: 'simple',
      model_version: '3',
    });
    const refused = await client.call('ModelInfer', infer('locked', { model_version: '3' }));
    expect(refused.error?.code).toBe(status.PERMISSION_DENIED);
    expect(refused.metadata['x-error-code']).toBe('override_forbidden');
  });

  it("maps Junction's errors to gRPC statuses with x-error-code", async () => {
    const missing = await client.call('ModelInfer', infer('nope'));
    expect(missing.error?.code).toBe(status.NOT_FOUND);
    expect(missing.metadata).toMatchObject({ 'x-error-code': 'objective_not_found' });
    expect(missing.metadata['x-request-id']).toBeTruthy();
    const wrongInterface = await client.call('ModelInfer', infer('json-only'));
    expect(wrongInterface.error?.code).toBe(status.INVALID_ARGUMENT);
    const big = await client.call('ModelInfer', infer('tight', { raw_input_contents: [randomBytes(2000)] }));
    expect(big.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.metadata['x-error-code']).toBe('payload_too_large');
  });

  it("passes a backend's own gRPC status through as it came", async () => {
    triton.failNext(status.RESOURCE_EXHAUSTED, 1, 'inference queue is full');
    const r = await client.call('ModelInfer', infer('identity'));
    expect(r.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.error?.details).toBe('inference queue is full');
    expect(r.metadata['x-model']).toBe('simple@1');
    expect(r.metadata['x-error-code']).toBeUndefined();
    // An override naming a version Junction does not know is the caller's error, not the backend's.
    const unknown = await client.call('ModelInfer', infer('identity', { model_version: '9' }));
    expect(unknown.error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('answers ModelReady and ModelMetadata through routing', async () => {
    const ready = await client.call('ModelReady', { name: 'identity' });
    expect(ready.value).toEqual({ ready: true });
    expect(ready.metadata['x-model']).toBe('simple@1');
    const meta = await client.call('ModelMetadata', { name: 'identity' });
    expect(meta.value).toMatchObject({
      name: 'simple',
      platform: 'test_identity',
      inputs: [{ name: 'INPUT0', shape: ['-1', '16'] }],
    });
    expect((await client.call('ModelReady', { name: 'nope' })).error?.code).toBe(status.NOT_FOUND);
  });

  it('falls back, and reports an unreachable backend as UNAVAILABLE', async () => {
    const fell = await client.call('ModelInfer', infer('with-fallback'));
    expect(fell.error).toBeUndefined();
    expect(fell.metadata).toMatchObject({ 'x-model': 'simple@down', 'x-fallback': 'simple@spare' });
    const down = await client.call('ModelInfer', infer('no-fallback'));
    expect(down.error?.code).toBe(status.UNAVAILABLE);
    expect(['upstream_error', 'no_healthy_backend']).toContain(down.metadata['x-error-code']);
  });

  it('retries UNAVAILABLE for idempotent objectives', async () => {
    spare.failNext(status.UNAVAILABLE, 1, 'warming up');
    const before = spare.received.filter((x) => x.method === 'ModelInfer').length;
    const r = await client.call('ModelInfer', infer('retried'));
    expect(r.error).toBeUndefined();
    expect(spare.received.filter((x) => x.method === 'ModelInfer').length - before).toBe(2);
  });

  it('copies to shadows off the critical path, with the same bytes', async () => {
    const before = spare.received.filter((x) => x.method === 'ModelInfer').length;
    const r = await client.call(
      'ModelInfer',
      infer('shadowed', {
        raw_input_contents: [fp32(4)],
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['1', '4'] }],
      }),
    );
    expect(r.metadata['x-model']).toBe('simple@1');
    await expect.poll(() => spare.received.filter((x) => x.method === 'ModelInfer').length).toBe(before + 1);
    const copy = spare.received.filter((x) => x.method === 'ModelInfer').at(-1)!;
    const live = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!;
    expect(copy.request.raw_input_contents).toEqual(live.request.raw_input_contents);
  });

  it('refuses beyond the bulkhead with UNAVAILABLE overloaded, never queueing', async () => {
    triton.delayMs = 300;
    try {
      const both = await Promise.all([
        client.call('ModelInfer', infer('bulkhead')),
        client.call('ModelInfer', infer('bulkhead')),
      ]);
      const codes = both.map((r) => r.error?.code ?? status.OK).sort();
      expect(codes).toEqual([status.OK, status.UNAVAILABLE]);
      expect(both.find((r) => r.error)!.metadata['x-error-code']).toBe('overloaded');
    } finally {
      triton.delayMs = 0;
    }
  });

  it("propagates the caller's deadline as the gRPC deadline and ends the call with DEADLINE_EXCEEDED", async () => {
    triton.delayMs = 2000;
    try {
      const r = await client.call('ModelInfer', infer('identity'), {}, 300);
      expect(r.error?.code).toBe(status.DEADLINE_EXCEEDED);
      const got = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!;
      expect(got.deadlineMs).toBeLessThanOrEqual(300);
      // With room on the caller's side, Junction's own deadline answers, with its code.
      const own = await client.call('ModelInfer', infer('identity'), { 'x-deadline-ms': '200' }, 5000);
      expect(own.error?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(own.metadata['x-error-code']).toBe('deadline_exceeded');
    } finally {
      triton.delayMs = 0;
    }
  });

  it('cancels the backend call when the caller cancels, and records the request as 499', async () => {
    triton.delayMs = 2000;
    try {
      records.length = 0;
      const r = await client.cancelAfter('ModelInfer', infer('identity', { id: 'gives-up' }), 200);
      expect(r.error?.code).toBe(status.CANCELLED);
      await expect.poll(() => triton.cancelled, { timeout: 5000 }).toContain('gives-up');
      await expect.poll(() => records.length).toBe(1);
      expect(records[0]).toMatchObject({ objective: 'identity', status: 499 });
    } finally {
      triton.delayMs = 0;
    }
  });

  it('serves in-process ONNX: typed contents and raw_input_contents', async () => {
    const features = [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.1, 0.1, 1];
    const typed = await client.call('ModelInfer', {
      model_name: 'rank',
      id: 'r',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['2', '8'], contents: { fp32_contents: features } }],
    });
    expect(typed.error).toBeUndefined();
    expect(typed.metadata['x-model']).toBe('ranker@6');
    expect(typed.value).toMatchObject({
      model_name: 'ranker',
      model_version: '6',
      id: 'r',
      outputs: [{ name: 'score', datatype: 'FP32', shape: ['2', '1'] }],
    });
    const scores = typed.value!.outputs[0].contents.fp32_contents as number[];
    expect(scores).toHaveLength(2);
    const raw = await client.call('ModelInfer', {
      model_name: 'rank',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['2', '8'] }],
      raw_input_contents: [Buffer.from(Float32Array.from(features).buffer)],
    });
    expect(raw.value!.outputs[0].contents.fp32_contents).toEqual(scores);
    const meta = await client.call('ModelMetadata', { name: 'rank' });
    expect(meta.value).toMatchObject({
      name: 'ranker',
      platform: 'onnxruntime',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['-1', '8'] }],
    });
    expect((await client.call('ModelReady', { name: 'rank' })).value).toEqual({ ready: true });
    const bad = await client.call('ModelInfer', {
      model_name: 'rank',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', '8'] }],
      raw_input_contents: [fp32(3)],
    });
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('records every call like HTTP: one record each, metrics by objective', async () => {
    records.length = 0;
    await client.call('ModelInfer', infer('identity'));
    await client.call('ModelInfer', infer('nope'));
    await expect.poll(() => records.length).toBe(2);
    expect(records[0]).toMatchObject({
      path: '/inference.GRPCInferenceService/ModelInfer',
      objective: 'identity',
      status: 200,
    });
    expect(records[0]!.outcome?.target.id).toBe('simple@1');
    expect(records[1]).toMatchObject({ objective: 'nope', status: 404, errorCode: 'objective_not_found' });
    const metrics = await (await request(`${junction.url}/metrics`)).body.text();
    expect(metrics).toMatch(/junction_requests_total\{[^}]*objective="identity"[^}]*\} \d+/);
  });

  it('an HTTP caller reaches a gRPC backend whatever headers it sends, and a backend message any text', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [1, 1], data: [[7]] }] });
    // A header name and a value HTTP allows but gRPC metadata refuses: left behind, not a 500.
    const odd = await request(`${junction.url}/v2/models/identity/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-odd!': 'y', 'x-latin': 'caf\u00e9' },
      body,
    });
    expect(odd.statusCode).toBe(200);
    await odd.body.dump();
    // A backend status whose message is no valid header text: its status passes, the message percent-encoded.
    triton.failNext(status.FAILED_PRECONDITION, 1, 'model not loaded\nretry later: \u00e9t\u00e9');
    const failed = await request(`${junction.url}/v2/models/identity/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(failed.statusCode).toBe(400);
    expect(failed.headers['grpc-status']).toBe(String(status.FAILED_PRECONDITION));
    expect(decodeURIComponent(failed.headers['grpc-message'] as string)).toBe(
      'model not loaded\nretry later: \u00e9t\u00e9',
    );
    await failed.body.dump();
  });

  it('serves HTTP OIP callers from a gRPC backend too: JSON encoded on the way, the answer decoded back', async () => {
    const meta = await request(`${junction.url}/v2/models/identity`);
    expect(meta.statusCode).toBe(200);
    expect(await meta.body.json()).toMatchObject({ name: 'simple', platform: 'test_identity' });
    const ready = await request(`${junction.url}/v2/models/identity/ready`);
    expect(await ready.body.json()).toMatchObject({ ready: true });
    const inferHttp = await request(`${junction.url}/v2/models/identity/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'h1',
        inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [1, 3], data: [[1, 2, 3]] }],
        parameters: { priority: 2 },
      }),
    });
    expect(inferHttp.statusCode).toBe(200);
    expect(inferHttp.headers['x-model']).toBe('simple@1');
    expect(await inferHttp.body.json()).toEqual({
      model_name: 'simple',
      model_version: '1',
      id: 'h1',
      outputs: [{ name: 'OUTPUT0', datatype: 'INT64', shape: [1, 3], data: [1, 2, 3] }],
    });
    expect(triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.request).toMatchObject({
      model_name: 'simple',
      model_version: '1',
      parameters: { priority: { int64_param: '2' } },
      inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: ['1', '3'], contents: { int64_contents: ['1', '2', '3'] } }],
    });
  });

  it("takes an HTTP caller's binary tensors to a gRPC backend as raw_input_contents, and answers binary when asked", async () => {
    const image = randomBytes(4096); // a binary UINT8 tensor: must arrive byte for byte
    const header = Buffer.from(
      JSON.stringify({
        id: 'b1',
        inputs: [
          { name: 'IMAGE', datatype: 'UINT8', shape: [1, 4096], parameters: { binary_data_size: image.length } },
          // Beside binary inputs gRPC takes raw contents for all: this JSON one is encoded too.
          { name: 'SCALE', datatype: 'FP32', shape: [2], data: [0.5, 2] },
          { name: 'IDS', datatype: 'INT64', shape: [2], data: ['9007199254740993', -3] },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }, { name: 'OUTPUT1' }, { name: 'OUTPUT2' }],
      }),
    );
    const res = await request(`${junction.url}/v2/models/identity/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, image]),
    });
    expect(res.statusCode).toBe(200);
    const body = Buffer.from(await res.body.arrayBuffer());
    const jsonLength = Number(res.headers['inference-header-content-length']);
    const answer = JSON.parse(body.subarray(0, jsonLength).toString()) as { outputs: Array<Record<string, unknown>> };
    expect(answer.outputs).toEqual([
      { name: 'OUTPUT0', datatype: 'UINT8', shape: [1, 4096], parameters: { binary_data_size: 4096 } },
      { name: 'OUTPUT1', datatype: 'FP32', shape: [2], data: [0.5, 2] },
      { name: 'OUTPUT2', datatype: 'INT64', shape: [2], data: [9007199254740992, -3] }, // JSON numbers are doubles
    ]);
    expect(body.subarray(jsonLength).equals(image)).toBe(true);
    const sent = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.request as {
      raw_input_contents: Buffer[];
      inputs: Array<{ name: string; parameters: Record<string, unknown> }>;
    };
    expect(sent.raw_input_contents[0]!.equals(image)).toBe(true);
    expect([...new Float32Array(new Uint8Array(sent.raw_input_contents[1]!).buffer)]).toEqual([0.5, 2]);
    expect(sent.raw_input_contents[2]!.readBigInt64LE(0)).toBe(9007199254740993n); // exact: sent as a string
    expect(sent.inputs[0]!.parameters).toEqual({}); // binary_data_size is HTTP's, not the model server's

    // A body whose tensors do not add up to the header's sizes is refused before anything is sent.
    const infers = () => triton.received.filter((x) => x.method === 'ModelInfer').length;
    const before = infers();
    const short = await request(`${junction.url}/v2/models/identity/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, image.subarray(0, 100)]),
    });
    expect(short.statusCode).toBe(400);
    expect(short.headers['x-error-code']).toBe('invalid_request');
    expect(((await short.body.json()) as { error: string }).error).toMatch(/binary_data_size/);
    expect(infers()).toBe(before);
  });
});

describe('gRPC face admission', () => {
  let triton: GrpcModelServer;
  let junction: Junction;
  let client: OipClient;

  beforeAll(async () => {
    triton = await startGrpcModelServer({ simple: ['1'] });
    junction = await startJunction({
      port: 0,
      grpc: { port: 0 },
      config: {
        models: { simple: { versions: { '1': grpcBackend(triton.url) } } },
        objectives: { identity: { interface: 'oip', default: 'simple@1' } },
        clients: { app: { keySha256: keyDigest('secret-key'), rateLimit: { rps: 0.01, burst: 1 } } },
      },
    });
    client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
  });

  afterAll(async () => {
    client.close();
    await junction.close();
    await triton.close();
  });

  it('is ready when every objective can be served', async () => {
    await expect
      .poll(async () => (await client.call('ServerReady', {})).value, { timeout: 5000 })
      .toEqual({ ready: true });
  });

  it('applies API keys and rate limits as on HTTP', async () => {
    const req = { model_name: 'identity', inputs: [] };
    const anonymous = await client.call('ModelInfer', req);
    expect(anonymous.error?.code).toBe(status.UNAUTHENTICATED);
    expect(anonymous.metadata['x-error-code']).toBe('unauthorized');
    const ok = await client.call('ModelInfer', req, { authorization: 'Bearer secret-key' });
    expect(ok.error).toBeUndefined();
    // The caller's key is never forwarded to the backend.
    expect(triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.metadata.authorization).toBeUndefined();
    const limited = await client.call('ModelInfer', req, { authorization: 'Bearer secret-key' });
    expect(limited.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(limited.metadata['x-error-code']).toBe('rate_limited');
    expect(Number(limited.metadata['retry-after'])).toBeGreaterThan(0);
  });
});

describe('the quickstart over gRPC', () => {
  it("answers the README's grpcurl example", async () => {
    const junction = await startJunction({
      configFile: `${REPO_ROOT}/examples/quickstart.yaml`,
      port: 0,
      grpc: { port: 0 },
    });
    const client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
    try {
      // The request of README.md's grpcurl example.
      const r = await client.call(
        'ModelInfer',
        {
          model_name: 'ranking-tensors',
          inputs: [
            {
              name: 'features',
              datatype: 'FP32',
              shape: [1, 8],
              contents: { fp32_contents: [0.9, 0.9, 0.8, 0.8, 0.6, 0.3, 0.5, 0] },
            },
          ],
        },
        { 'x-unit-id': 'user-42' },
      );
      expect(r.error).toBeUndefined();
      expect(r.metadata).toMatchObject({ 'x-model': 'ranker@7' });
      expect(r.value).toMatchObject({
        model_name: 'ranker',
        model_version: '7',
        outputs: [{ name: 'score', datatype: 'FP32', shape: ['1', '1'] }],
      });
    } finally {
      client.close();
      await junction.close();
    }
  });
});

describe('oip-grpc health checks', () => {
  it('ServerReady/ModelReady take a replica out and bring it back; readiness follows', async () => {
    const triton = await startGrpcModelServer({ simple: ['1'] });
    const junction = await startJunction({
      port: 0,
      grpc: { port: 0 },
      config: {
        models: { simple: { versions: { '1': grpcBackend(triton.url) } } },
        objectives: { identity: { interface: 'oip', default: 'simple@1' } },
      },
    });
    const client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
    const ready = async () => (await client.call('ServerReady', {})).value?.ready;
    try {
      await expect.poll(ready, { timeout: 5000 }).toBe(true);
      triton.ready = false;
      await expect.poll(ready, { timeout: 5000 }).toBe(false);
      const refused = await client.call('ModelInfer', { model_name: 'identity' });
      expect(refused.error?.code).toBe(status.UNAVAILABLE);
      expect(refused.metadata['x-error-code']).toBe('no_healthy_backend');
      expect((await request(`${junction.url}/readyz`)).statusCode).toBe(503);
      triton.ready = true;
      await expect.poll(ready, { timeout: 5000 }).toBe(true);
      expect((await client.call('ModelInfer', { model_name: 'identity' })).error).toBeUndefined();
    } finally {
      client.close();
      await junction.close();
      await triton.close();
    }
  });
});
