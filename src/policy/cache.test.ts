import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestBody } from '../call/body.js';
import type { Call, Reply, Send } from '../call/types.js';
import type { CacheConfig } from '../config/schema.js';
import { newRecord } from '../observe/record.js';
import type { CompiledObjective } from '../routing/types.js';
import { target, testCall } from '../../test/support/call.js';
import { responseCache } from './cache.js';
import { cacheKey } from './cache-key.js';
import { ResponseCache } from './cache-store.js';
import { decode, encode } from './cache-redis.js';

const CFG: CacheConfig = { ttlSeconds: 60, maxBytes: 1024, scope: 'shared', cacheable: true };

function objective(iface: 'json' | 'openai' | 'oip'): CompiledObjective {
  return { name: 'obj', interface: iface } as CompiledObjective;
}

/** A call as the invoke path makes it, with its record. */
function call(changes: Partial<Call> & { json?: unknown; raw?: string } = {}): Call {
  const { json, raw, ...rest } = changes;
  const body = raw ?? JSON.stringify(json ?? { x: 1 });
  return testCall({
    objective: objective('json'),
    body: RequestBody.of(Buffer.from(body)),
    record: newRecord('r', 'POST', '/', 0),
    ...rest,
  });
}

/** An upstream that counts calls and answers `reply()` (a fresh one each time). */
function upstream(reply: (n: number, call: Call) => Reply = (n) => json({ n })) {
  let n = 0;
  const send: Send = async (c) => reply(++n, c);
  return { send, calls: () => n };
}

const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(JSON.stringify(value)),
});

/** The body as the reply writer reads it: piped (the pipe resumes a paused body); a body that errors rejects. */
async function text(reply: Reply): Promise<string> {
  const body = reply.body;
  if (body === null) return '';
  if (Buffer.isBuffer(body)) return body.toString();
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    body.once('error', reject);
    out.once('end', () => resolve(Buffer.concat(chunks).toString()));
    body.pipe(out);
  });
}

function run(cfg: CacheConfig = CFG, up = upstream(), store = new ResponseCache()) {
  const send = responseCache(cfg, store)(up.send);
  return { send, up, store };
}

describe('response cache policy', () => {
  it('answers the second identical call from the cache, with x-cache and the record noting it', async () => {
    const { send, up } = run();
    const first = call();
    const a = await send(first);
    expect(a.headers['x-cache']).toBe('miss');
    expect(first.record!.cache).toBe('miss');
    const again = call({ raw: '{ "x" : 1 }' }); // the same request, written another way
    const b = await send(again);
    expect(b.headers['x-cache']).toBe('hit');
    expect(b.headers['content-type']).toBe('application/json');
    expect(b.headers.age).toBe('0');
    expect(again.record!.cache).toBe('hit');
    expect(await text(b)).toBe('{"n":1}');
    expect(up.calls()).toBe(1);
  });

  it('keys on the routed target, the operation, the query and (scope client) the client', async () => {
    const { send, up } = run({ ...CFG, scope: 'client' });
    await send(call({ client: 'a' }));
    await send(call({ client: 'a' }));
    expect(up.calls()).toBe(1);
    await send(call({ client: 'b' }));
    await send(call({ client: 'a', target: target('m@2') }));
    await send(call({ client: 'a', query: '?v=2' }));
    await send(call({ client: 'a', operation: 'infer' }));
    expect(up.calls()).toBe(5);
    // Shared scope: the client is not in the key.
    const shared = run();
    await shared.send(call({ client: 'a' }));
    await shared.send(call({ client: 'b' }));
    expect(shared.up.calls()).toBe(1);
  });

  it('keeps the key apart for requests whose bytes differ only where parsers could disagree', () => {
    const base = call();
    const key = (raw: string) => cacheKey({ ...base, body: RequestBody.of(Buffer.from(raw)) }, CFG, Buffer.from(raw));
    expect(key('{"a":1,"a":2}')).not.toBe(key('{"a":2}')); // a repeated key: keyed on the bytes
    expect(key('{"a":2,"a":1}')).not.toBe(key('{"a":1,"a":2}'));
    expect(key('{"b":1,"a":2}')).toBe(key('{"a":2,"b":1}'));
    const binary = (length: string) =>
      cacheKey(call({ headers: { 'inference-header-content-length': length } }), CFG, Buffer.from('{}'));
    expect(binary('2')).not.toBe(binary('1'));
  });

  it('caches LLM calls only when deterministic: embeddings, temperature 0, a seed; Messages at temperature 0', async () => {
    const { send, up } = run();
    const llm = (operation: Call['operation'], body: Record<string, unknown>) =>
      call({ objective: objective('openai'), operation, json: { model: 'obj', ...body } });
    const twice = async (c: () => Call) => {
      const before = up.calls();
      await send(c());
      const second = c();
      await send(second);
      return { calls: up.calls() - before, result: second.record!.cache };
    };
    expect(await twice(() => llm('embeddings', { input: 'hi' }))).toEqual({ calls: 1, result: 'hit' });
    expect(await twice(() => llm('chat/completions', { temperature: 0, messages: [] }))).toEqual({
      calls: 1,
      result: 'hit',
    });
    expect(await twice(() => llm('completions', { temperature: 0.7, seed: 7, prompt: 'p' }))).toEqual({
      calls: 1,
      result: 'hit',
    });
    expect(await twice(() => llm('responses', { temperature: 0.0, input: 'hi' }))).toEqual({ calls: 1, result: 'hit' });
    expect(await twice(() => llm('messages', { temperature: 0, messages: [] }))).toEqual({ calls: 1, result: 'hit' });
    expect(await twice(() => llm('chat/completions', { temperature: 0.2, messages: [] }))).toEqual({
      calls: 2,
      result: 'bypass',
    });
    expect(await twice(() => llm('chat/completions', { messages: [] }))).toEqual({ calls: 2, result: 'bypass' });
    expect(await twice(() => llm('chat/completions', { seed: null, messages: [] }))).toEqual({
      calls: 2,
      result: 'bypass',
    });
    expect(await twice(() => llm('messages', { seed: 1, messages: [] }))).toEqual({ calls: 2, result: 'bypass' });
    // `user` does not change the answer: another end user's identical question is a hit.
    await send(llm('embeddings', { input: 'q', user: 'u1' }));
    const other = llm('embeddings', { input: 'q', user: 'u2' });
    await send(other);
    expect(other.record!.cache).toBe('hit');
    // A temperature the cache cannot read one way (a repeated key) is not cached.
    const repeated = call({
      objective: objective('openai'),
      operation: 'chat/completions',
      raw: '{"temperature":1,"temperature":0}',
    });
    await send(repeated);
    expect(repeated.record!.cache).toBe('bypass');
  });

  it('passes by requests that are not cacheable, with x-cache: bypass', async () => {
    const { send, up } = run();
    const cases: Call[] = [
      call({ headers: { 'cache-control': 'no-cache' } }),
      call({ headers: { 'cache-control': 'max-age=0, No-Store' } }),
      call({ headers: { pragma: 'no-cache' } }),
      call({ method: 'DELETE' }),
      call({ operation: 'metadata' }),
      call({ objective: objective('openai'), operation: 'invoke' }),
    ];
    for (const c of cases) {
      expect((await send(c)).headers['x-cache']).toBe('bypass');
      expect(c.record!.cache).toBe('bypass');
    }
    const notCacheable = run({ ...CFG, cacheable: false });
    const c = call();
    await notCacheable.send(c);
    expect(c.record!.cache).toBe('bypass');
    const grpc = RequestBody.of(Buffer.from('{}'));
    grpc.grpcCaller = true;
    const g = call({ body: grpc });
    await send(g);
    expect(g.record!.cache).toBe('bypass');
    expect(up.calls()).toBe(cases.length + 1);
  });

  it('never stores an error, a fallback, no-store, private, an encoded or an oversized answer', async () => {
    const replies: Reply[] = [
      json({ e: 1 }, 503),
      json({ e: 2 }, 404),
      { ...json({ f: 1 }), fallback: 'm@9' },
      json({ s: 1 }, 200, { 'cache-control': 'no-store' }),
      json({ p: 1 }, 200, { 'cache-control': 'private, max-age=60' }),
      json({ z: 1 }, 200, { 'content-encoding': 'gzip' }),
      json({ big: 'x'.repeat(2000) }),
    ];
    for (const r of replies) {
      const { send, up, store } = run(
        CFG,
        upstream(() => r),
      );
      await send(call());
      const second = call();
      await send(second);
      expect(second.record!.cache).toBe('miss');
      expect(up.calls()).toBe(2);
      expect(store.size).toBe(0);
    }
  });

  it('a static fallback reply is marked without touching its shared headers', async () => {
    const shared = { 'content-type': 'text/plain' };
    const { send } = run(
      CFG,
      upstream(() => ({ status: 200, headers: shared, body: Buffer.from('s'), fallback: 'static' })),
    );
    const r = await send(call());
    expect(r.headers['x-cache']).toBe('miss');
    expect(shared).toEqual({ 'content-type': 'text/plain' });
  });

  it('copies a streamed answer on the side and replays the same bytes; never a cut or oversized one', async () => {
    const events = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n', 'data: [DONE]\n\n'];
    const stream = (): Reply => ({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: Readable.from(events.map((e) => Buffer.from(e))),
    });
    const { send, up } = run(CFG, upstream(stream));
    const first = await send(call());
    // Nothing flows before the caller's pipe: the first chunk is still there for it.
    await new Promise((r) => setImmediate(r));
    expect(await text(first)).toBe(events.join(''));
    const hit = await send(call());
    expect(hit.headers['x-cache']).toBe('hit');
    expect(hit.headers['content-type']).toBe('text/event-stream');
    expect(await text(hit)).toBe(events.join(''));
    expect(up.calls()).toBe(1);

    // Cut mid-stream: not stored.
    const cut = run(
      CFG,
      upstream(() => {
        const body = new PassThrough();
        body.on('error', () => undefined); // as awaitFirstByte leaves a body: a reset before the writer's pipe is heard
        body.write('data: {"a":1}\n\n');
        setTimeout(() => body.destroy(new Error('reset')), 20);
        return { status: 200, headers: { 'content-type': 'text/event-stream' }, body };
      }),
    );
    const r = await cut.send(call());
    await expect(text(r)).rejects.toThrow('reset');
    expect(cut.store.size).toBe(0);

    // Larger than maxBytes: the caller gets it whole, the cache keeps nothing.
    const big = run({ ...CFG, maxBytes: 20 }, upstream(stream));
    expect(await text(await big.send(call()))).toBe(events.join(''));
    expect(big.store.size).toBe(0);
  });

  it('a Redis value is used only under its own key and in its own form', () => {
    const reply = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":1}') };
    const value = encode('k1', reply);
    expect(decode(value, 'k1')?.reply).toEqual(reply);
    expect(decode(value, 'k2')).toBeUndefined();
    expect(decode(value.subarray(0, value.length - 1), 'k1')).toBeUndefined();
    expect(decode(Buffer.from('{"ok":1}'), 'k1')).toBeUndefined();
    expect(decode(encode('k1', { ...reply, status: 500 }), 'k1')).toBeUndefined();
  });
});
