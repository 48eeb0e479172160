// Issue 22, finding 3: the `model` Junction routes on must be the `model` the
// backend reads. A body naming it twice (`"mod\u0065l"` is `model` to every
// JSON parser, and the backend's keeps the last) is refused before any
// backend is called; an escaped key alone is the model key; the rewrite leaves
// exactly one. Over real sockets, in front of a vLLM-like server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { topLevelFields } from '../../src/backends/protocols/json-field.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { HEALTH_CHECK_AGENT, lastTraffic } from '../support/servers/traffic.js';

describe('OpenAI bodies: the routed model is the model the backend reads', () => {
  let vllm: OpenAiServer;
  let junction: Junction;

  beforeAll(async () => {
    // `other-llm` is served by the same upstream: what a caller would steer to.
    vllm = await startOpenAiServer({ models: ['served-llm', 'other-llm'] });
    junction = await startJunction({
      port: 0,
      config: {
        models: {
          chat: {
            class: 'generator',
            versions: {
              '1': { backend: { type: 'http', protocol: 'openai', endpoints: [vllm.url], model: 'served-llm' } },
            },
          },
          // raw: the bytes go through as sent, so the backend reads the caller's `model` itself.
          passthrough: {
            class: 'generator',
            versions: {
              '1': { backend: { type: 'http', protocol: 'raw', endpoints: [`${vllm.url}/v1/chat/completions`] } },
            },
          },
        },
        objectives: {
          'support-chat': { interface: 'openai', default: 'chat@1' },
          'served-llm': { interface: 'openai', default: 'passthrough@1' },
        },
      },
    });
  });
  afterAll(async () => {
    await junction.close();
    await vllm.close();
  });

  const calls = () => vllm.received.filter((r) => r.headers['user-agent'] !== HEALTH_CHECK_AGENT).length;
  const post = (path: string, body: string) =>
    request(`${junction.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  /** The call is refused with 400 in OpenAI's error shape, naming `field`, and the backend never sees it. */
  async function refused(path: string, body: string, field: string | RegExp): Promise<void> {
    const before = calls();
    const res = await post(path, body);
    const answer = (await res.body.json()) as { error: { message: string; type: string; code: string } };
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-error-code']).toBe('invalid_request');
    expect(answer.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(answer.error.message).toMatch(typeof field === 'string' ? `"${field}"` : field);
    expect(calls()).toBe(before);
  }

  /** The one top-level model key the backend received, read by the scanner (which refuses two) and by JSON.parse. */
  function upstreamModel(): string {
    const body = lastTraffic(vllm).body;
    const [span] = topLevelFields(body, ['model']);
    const parsed = (JSON.parse(body.toString()) as { model: string }).model;
    expect(body.toString('utf8', span!.start, span!.end)).toBe(JSON.stringify(parsed));
    return parsed;
  }

  const messages = '"messages":[{"role":"user","content":"hi"}]';

  it('refuses "model" written a second time with an escape, in either order, before any backend is called', async () => {
    await refused('/v1/chat/completions', `{"model":"support-chat","mod\\u0065l":"other-llm",${messages}}`, 'model');
    await refused('/v1/chat/completions', `{"mod\\u0065l":"other-llm",${messages},"model":"support-chat"}`, 'model');
    await refused('/v1/chat/completions', `{"model":"support-chat","model":"other-llm",${messages}}`, 'model');
    await refused('/v1/completions', `{"model":"support-chat","\\u006dodel":"other-llm","prompt":"a"}`, 'model');
    await refused('/v1/embeddings', `{"model":"support-chat","mod\\u0065l":"other-llm","input":"a"}`, 'model');
    await refused('/v1/responses', `{"model":"support-chat","mod\\u0065l":"other-llm","input":"a"}`, 'model');
  });

  it('refuses a key that is "model" in another case (Go servers read it as model)', async () => {
    await refused('/v1/chat/completions', `{"model":"support-chat","MODEL":"other-llm",${messages}}`, 'MODEL');
    await refused('/v1/chat/completions', `{"Model":"support-chat",${messages}}`, 'Model');
  });

  it('reads an escaped key alone as the model, and sends exactly one model key', async () => {
    const res = await post('/v1/chat/completions', `{"mod\\u0065l":"support-chat",${messages}}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-model']).toBe('chat@1');
    expect(((await res.body.json()) as { model: string }).model).toBe('served-llm');
    expect(upstreamModel()).toBe('served-llm');
    expect(lastTraffic(vllm).body.toString()).toBe(`{"mod\\u0065l":"served-llm",${messages}}`);
  });

  it('a backend that reads the bytes itself (raw) gets the model Junction routed on, or nothing', async () => {
    // Routed on "served-llm" (an objective served raw): a second key must not name another upstream model.
    await refused('/v1/chat/completions', `{"model":"served-llm","mod\\u0065l":"other-llm",${messages}}`, 'model');
    // What JSON.parse refuses is refused too, rather than left to a lenient parser behind Junction.
    await refused('/v1/chat/completions', `{"model":"served-llm",${messages},}`, /not valid JSON/);
    await refused('/v1/chat/completions', `{"model":"served-llm",${messages}} {"model":"other-llm"}`, /not valid JSON/);
    const res = await post('/v1/chat/completions', `{"model":"served-llm",${messages}}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-model']).toBe('passthrough@1');
    await res.body.dump();
  });

  it('the generic objective endpoint refuses a repeated model too, and its rewrite sends exactly one', async () => {
    const path = '/v1/objectives/support-chat';
    const body = `{"model":"whatever","mod\\u0065l":"other-llm",${messages}}`;
    const before = calls();
    const dup = await post(path, body);
    expect(dup.statusCode).toBe(400);
    expect(await dup.body.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('"model" appears twice') as unknown },
    });
    expect(calls()).toBe(before);

    const escaped = await post(path, `{"mod\\u0065l":"whatever",${messages}}`);
    expect(escaped.statusCode).toBe(200);
    await escaped.body.dump();
    expect(upstreamModel()).toBe('served-llm');

    const absent = await post(path, `{${messages}}`);
    expect(absent.statusCode).toBe(200);
    await absent.body.dump();
    expect(upstreamModel()).toBe('served-llm');
    expect(lastTraffic(vllm).body.toString()).toBe(`{"model":"served-llm",${messages}}`);
  });

  it('leaves repeats of fields Junction does not read to the backend', async () => {
    const sent = `{"model":"support-chat","temperature":0.1,"temperature":0.2,"stream":false,"stream":false,${messages}}`;
    const res = await post('/v1/chat/completions', sent);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(lastTraffic(vllm).body.toString()).toBe(sent.replace('"support-chat"', '"served-llm"'));
  });
});
