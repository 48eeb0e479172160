// The OIP face and the oip protocol end to end over real sockets: Junction in
// front of a Triton/KServe-like server (test/support/servers/oip.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { binaryInferRequest, startOipServer, type OipServer } from '../support/servers/oip.js';
import { lastTraffic } from '../support/servers/traffic.js';
import { recordHealthEvents } from '../support/health-events.js';

const range = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));

describe('oip protocol behind the OIP face', () => {
  let triton: OipServer;
  let kserve: OipServer;
  let junction: Junction;
  const health = recordHealthEvents();

  beforeAll(async () => {
    triton = await startOipServer({ models: { simple: ['1', '3'] } });
    kserve = await startOipServer({ models: { 'simple-kserve': ['2'] }, readyStyle: 'json' });
    junction = await startJunction({
      telemetry: health.sink,
      port: 0,
      config: {
        models: {
          simple: {
            versions: {
              '1': { backend: { type: 'http', protocol: 'oip', endpoints: [triton.url], health: { intervalMs: 100 } } },
              // backend.version: Junction's "3" is served as Triton's version 3 of the same model.
              '3': {
                backend: {
                  type: 'http',
                  protocol: 'oip',
                  endpoints: [triton.url],
                  version: '3',
                  health: { intervalMs: 100 },
                },
              },
              // backend.model / backend.version: Junction's simple@k is KServe's simple-kserve version 2.
              k: {
                backend: {
                  type: 'http',
                  protocol: 'oip',
                  endpoints: [kserve.url],
                  model: 'simple-kserve',
                  version: '2',
                  health: { intervalMs: 100 },
                },
              },
            },
          },
        },
        objectives: {
          adder: { interface: 'oip', default: 'simple@1', allowOverride: true, overrideTargets: ['simple@3'] },
          'adder-kserve': { interface: 'oip', default: 'simple@k' },
          'adder-locked': { interface: 'oip', default: 'simple@1' },
        },
      },
    });
  });
  afterAll(async () => {
    await junction.close();
    await triton.close();
    await kserve.close();
  });

  it('rewrites the infer path to the backend model and version, answering in JSON tensors', async () => {
    const res = await request(`${junction.url}/v2/models/adder/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: range((i) => i) },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: range(() => 1) },
        ],
      }),
    });
    const body = (await res.body.json()) as { outputs: Array<{ name: string; data: number[] }> };
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-model']).toBe('simple@1');
    expect(res.headers['x-decision']).toContain('rule=default');
    expect(lastTraffic(triton).url).toBe('/v2/models/simple/versions/1/infer');
    expect(body.outputs[0]!.data).toEqual(range((i) => i + 1));
  });

  it('passes binary tensors through byte for byte, both ways', async () => {
    const { body, headerLength } = binaryInferRequest(
      range((i) => i * 1000),
      range((i) => -i),
    );
    const res = await request(`${junction.url}/v2/models/adder/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
      body,
    });
    const answer = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    const upstream = lastTraffic(triton);
    expect(upstream.body.equals(body)).toBe(true);
    expect(upstream.headers['inference-header-content-length']).toBe(String(headerLength));
    const jsonLength = Number(res.headers['inference-header-content-length']);
    const header = JSON.parse(answer.subarray(0, jsonLength).toString()) as {
      outputs: Array<{ parameters: { binary_data_size: number } }>;
    };
    expect(header.outputs.map((o) => o.parameters.binary_data_size)).toEqual([64, 64]);
    const out0 = answer.subarray(jsonLength, jsonLength + 64);
    expect(range((i) => out0.readInt32LE(i * 4))).toEqual(range((i) => i * 1000 - i));
  });

  it('proxies metadata and readiness, with the backend names rewritten', async () => {
    const meta = await request(`${junction.url}/v2/models/adder-kserve`);
    expect(meta.statusCode).toBe(200);
    expect(((await meta.body.json()) as { name: string }).name).toBe('simple-kserve');
    expect(lastTraffic(kserve).url).toBe('/v2/models/simple-kserve/versions/2');

    const ready = await request(`${junction.url}/v2/models/adder-kserve/ready`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toEqual({ name: 'simple-kserve', ready: true });
    expect(lastTraffic(kserve).url).toBe('/v2/models/simple-kserve/versions/2/ready');
  });

  it('passes generate through, and generate_stream event by event', async () => {
    const gen = await request(`${junction.url}/v2/models/adder/generate`, {
      method: 'POST',
      body: JSON.stringify({ text_input: 'hello there' }),
    });
    expect(await gen.body.json()).toMatchObject({ text_output: 'HELLO THERE' });
    expect(lastTraffic(triton).url).toBe('/v2/models/simple/versions/1/generate');

    let open!: () => void;
    triton.streamGate = new Promise<void>((r) => {
      open = r;
    });
    const res = await request(`${junction.url}/v2/models/adder/generate_stream`, {
      method: 'POST',
      body: JSON.stringify({ text_input: 'one two' }),
    });
    expect(res.headers['content-type']).toContain('text/event-stream');
    const reader = res.body[Symbol.asyncIterator]();
    // The first event arrives while the server still holds the rest back.
    const first = (await reader.next()).value as Buffer;
    expect(first.toString()).toContain('"text_output":"ONE"');
    open();
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += (r.value as Buffer).toString();
    expect(rest).toContain('"text_output":"TWO"');
    triton.streamGate = undefined;
  });

  it('treats /versions/{v} as an override of the default model, when permitted', async () => {
    const res = await request(`${junction.url}/v2/models/adder/versions/3/generate`, {
      method: 'POST',
      body: JSON.stringify({ text_input: 'x' }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-model']).toBe('simple@3');
    expect(res.headers['x-decision']).toContain('rule=override');
    await res.body.dump();
    expect(lastTraffic(triton).url).toBe('/v2/models/simple/versions/3/generate');

    const refused = await request(`${junction.url}/v2/models/adder-locked/versions/3/infer`, {
      method: 'POST',
      body: '{}',
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['x-error-code']).toBe('override_forbidden');
    expect(Object.keys((await refused.body.json()) as object)).toEqual(['error']);
  });

  it('an unknown /versions/{v} is a 400 naming the path, not the x-model-override header', async () => {
    const res = await request(`${junction.url}/v2/models/adder/versions/9/infer`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-error-code']).toBe('invalid_request');
    const { error } = (await res.body.json()) as { error: string };
    expect(error).toBe('/versions/9: model "simple" (the objective\'s default model) has no version "9" in the config');
    expect(error).not.toContain('x-model-override');

    // The header still names itself, on the same objective.
    const viaHeader = await request(`${junction.url}/v2/models/adder/infer`, {
      method: 'POST',
      headers: { 'x-model-override': 'simple@9' },
      body: '{}',
    });
    expect(viaHeader.statusCode).toBe(400);
    expect(((await viaHeader.body.json()) as { error: string }).error).toBe(
      'x-model-override: unknown target "simple@9"; expected model@version from the config',
    );
  });

  it('answers Junction errors in the OIP shape with the code in x-error-code', async () => {
    const res = await request(`${junction.url}/v2/models/nope/infer`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-error-code']).toBe('objective_not_found');
    const body = (await res.body.json()) as { error: unknown };
    expect(typeof body.error).toBe('string');
  });

  it('passes backend errors through with their own status and body', async () => {
    const res = await request(`${junction.url}/v2/models/adder/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [] }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-model']).toBe('simple@1');
    expect(await res.body.json()).toEqual({ error: 'expected INPUT0 and INPUT1, INT32 [1,16]' });
  });

  it('reflects backend readiness in /v2/health/ready and /readyz, for empty-200 and JSON answers', async () => {
    expect((await request(`${junction.url}/v2/health/live`)).statusCode).toBe(200);
    expect((await request(`${junction.url}/v2/health/ready`)).statusCode).toBe(200);

    const down = health.next('simple@k', false);
    kserve.ready = false; // answers 200 {"ready": false}
    await down;
    const notReady = await request(`${junction.url}/v2/health/ready`);
    expect(notReady.statusCode).toBe(503);
    expect(await notReady.body.json()).toEqual({ ready: false });
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(503);

    const up = health.next('simple@k', true);
    kserve.ready = true;
    await up;
    expect((await request(`${junction.url}/v2/health/ready`)).statusCode).toBe(200);

    const tritonDown = health.next('simple@1', false);
    triton.ready = false; // answers an empty 400
    await tritonDown;
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(503);
    const tritonUp = health.next('simple@1', true);
    triton.ready = true;
    await tritonUp;
    expect((await request(`${junction.url}/readyz`)).statusCode).toBe(200);
  });
});
