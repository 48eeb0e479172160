// The fleet bench's simulated replica (bench/llm-fleet/replica.ts) is only as
// good as its protocol and its cache: the official OpenAI client streams a chat
// completion from it through a real Junction, the raw stream ends with
// `data: [DONE]`, /metrics carries vLLM's names, and a repeated prompt finds
// its prefix cached (asserted on the simulator's counters, never on timing).
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { SimReplica } from '../../bench/llm-fleet/replica.js';
import { ConversationPool, poissonArrivals, SHARED } from '../../bench/llm-fleet/workload.js';

describe('llm-fleet simulated replica', () => {
  let replica: SimReplica;
  let junction: Junction;

  beforeAll(async () => {
    // scale 0.02: a simulated 13 ms step takes 0.26 ms of wall time.
    replica = await new SimReplica({ index: 5, scale: 0.02 }).start();
    junction = await startJunction({
      port: 0,
      host: '127.0.0.1',
      tracing: false,
      config: {
        models: {
          llm: {
            class: 'generator',
            versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: [replica.url] } } },
          },
        },
        objectives: { chat: { interface: 'openai', default: 'llm@1' } },
      },
    });
  });

  afterAll(async () => {
    await junction?.close();
    await replica?.close();
  });

  it('streams a chat completion to the official openai client through Junction', async () => {
    const client = new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'You are a test. '.repeat(20) },
        { role: 'user', content: 'Say something.' },
      ],
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let id = '';
    for await (const chunk of stream) {
      id ||= chunk.id;
      expect(chunk.object).toBe('chat.completion.chunk');
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content.length).toBe(20 * 4);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(20);
    expect(id).toMatch(/^chatcmpl-r5-/);
  });

  it('ends the raw SSE stream with data: [DONE], and answers whole when not streaming', async () => {
    const res = await request(`${junction.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 9, stream: true }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const text = await res.body.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const first = JSON.parse(events[0]!.slice(6)) as { choices: Array<{ delta: { role?: string } }> };
    expect(first.choices[0]!.delta.role).toBe('assistant');

    const client = new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const whole = await client.completions.create({ model: 'chat', prompt: 'Once upon a time', max_tokens: 5 });
    expect(whole.choices[0]!.text.length).toBe(20);
    expect(whole.usage?.completion_tokens).toBe(5);
  });

  it('finds a repeated prompt in its prefix cache: fewer tokens prefilled the second time', async () => {
    const messages = [
      { role: 'system', content: 'A long shared system prompt. '.repeat(80) },
      { role: 'user', content: 'What is cached?' },
    ];
    const send = async () => {
      const res = await request(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages, max_tokens: 4 }),
      });
      expect(res.statusCode).toBe(200);
      return (await res.body.json()) as {
        usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
      };
    };
    const s0 = replica.stats();
    const a = await send();
    const s1 = replica.stats();
    const b = await send();
    const s2 = replica.stats();
    const firstPrefill = s1.prefilled - s0.prefilled;
    const secondPrefill = s2.prefilled - s1.prefilled;
    expect(a.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(firstPrefill).toBe(a.usage.prompt_tokens);
    // All full 16-token blocks are found; vLLM recomputes at least the last token.
    expect(b.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(a.usage.prompt_tokens - 16);
    expect(secondPrefill).toBeLessThan(16);
    expect(s2.hits - s1.hits).toBe(b.usage.prompt_tokens_details.cached_tokens);
    expect(replica.cachedPrefixTokens(`${'x'.repeat(64)}`)).toBe(0);

    const metrics = await (await request(`${replica.url}/metrics`)).body.text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:gpu_cache_usage_perc',
      'vllm:prefix_cache_hits_total',
      'vllm:prefix_cache_queries_total',
    ]) {
      expect(metrics).toMatch(new RegExp(`^${name}\\{model_name="[^"]+"\\} [0-9.]+$`, 'm'));
    }
  });

  it('draws the same seeded workload twice', () => {
    const a = new ConversationPool(SHARED);
    const b = new ConversationPool(SHARED);
    for (let i = 0; i < 5; i++) expect(a.next()).toEqual(b.next());
    expect(poissonArrivals(10, 5, 1)).toEqual(poissonArrivals(10, 5, 1));
  });
});
