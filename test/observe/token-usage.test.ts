// Token usage per objective, answering target and client (SPEC §2.2, §8):
// read on the side of proxied replies (JSON bodies, a chat stream's final
// usage chunk, the Responses API's response.completed) and reported by
// in-process generation itself, into junction_tokens_total and the decision log.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { REPO_ROOT } from '../support/onnx.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';

let upstream: OpenAiServer;
let j: Junction;
let dir: string;

beforeAll(async () => {
  upstream = await startOpenAiServer({ models: ['served-llm'] });
  dir = mkdtempSync(join(tmpdir(), 'junction-tokens-'));
  j = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    decisionLog: join(dir, 'decisions.jsonl'),
    config: {
      models: {
        remote: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'http', protocol: 'openai', endpoints: [upstream.url], model: 'served-llm' } },
          },
        },
        charlm: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'onnx', path: 'models/charlm-1.onnx', tokenizer: 'models/charlm-1.vocab.json' } },
          },
        },
      },
      objectives: {
        proxied: { interface: 'openai', default: 'remote@1' },
        local: { interface: 'openai', default: 'charlm@1' },
      },
    },
  });
});
afterAll(async () => {
  await j.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<string> {
  const res = await request(`${j.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.text();
  expect(res.statusCode).toBe(200);
  return res.headers['x-request-id'] as string;
}

async function tokens(objective: string, target: string, kind: string): Promise<number> {
  const text = await (await request(`${j.url}/metrics`)).body.text();
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(
        `junction_tokens_total{objective="${objective}",target="${target}",client="anonymous",kind="${kind}"}`,
      ),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function logged(requestId: string): Promise<{ usage: unknown }> {
  const file = join(dir, 'decisions.jsonl');
  let line: string | undefined;
  await expect
    .poll(
      () =>
        (line = readFileSync(file, 'utf8')
          .split('\n')
          .find((l) => l.includes(requestId))),
    )
    .toBeDefined();
  return JSON.parse(line!) as { usage: unknown };
}

describe('token usage', () => {
  it('counts usage from JSON bodies, the final chunk of a chat stream and response.completed', async () => {
    const ids = [
      await post('/v1/chat/completions', { model: 'proxied', messages: [{ role: 'user', content: 'a b c' }] }),
      await post('/v1/chat/completions', {
        model: 'proxied',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'd e' }],
      }),
      await post('/v1/responses', { model: 'proxied', stream: true, input: 'f g h i' }),
      await post('/v1/responses', { model: 'proxied', input: 'j' }),
    ];
    // The test server counts one token per word, prompt and completion alike.
    // Metrics are counted when the response closes, which can trail the client's last read.
    await expect.poll(() => tokens('proxied', 'remote@1', 'prompt')).toBe(3 + 2 + 4 + 1);
    expect(await tokens('proxied', 'remote@1', 'completion')).toBe(3 + 2 + 4 + 1);
    expect((await logged(ids[1]!)).usage).toEqual({ prompt: 2, completion: 2 });
    expect((await logged(ids[2]!)).usage).toEqual({ prompt: 4, completion: 4 });
  });

  it('a stream without usage counts nothing and logs usage null', async () => {
    const before = await tokens('proxied', 'remote@1', 'prompt');
    const id = await post('/v1/chat/completions', {
      model: 'proxied',
      stream: true,
      messages: [{ role: 'user', content: 'x y' }],
    });
    expect((await logged(id)).usage).toBeNull();
    expect(await tokens('proxied', 'remote@1', 'prompt')).toBe(before);
  });

  it('in-process generation reports its own usage, streamed without include_usage too', async () => {
    const id = await post('/v1/chat/completions', {
      model: 'local',
      stream: true,
      temperature: 0,
      max_tokens: 5,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const { usage } = (await logged(id)) as { usage: { prompt: number; completion: number } };
    expect(usage.completion).toBeGreaterThan(0);
    expect(usage.completion).toBeLessThanOrEqual(5);
    expect(usage.prompt).toBeGreaterThan(0);
    await expect.poll(() => tokens('local', 'charlm@1', 'completion')).toBe(usage.completion);
  });
});
