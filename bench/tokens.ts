// Token accounting's cost on streams, as ratios in one run: (1) the side
// reader alone, a stream of SSE chunks consumed with and without it; (2) end
// to end, time to first byte and to last byte of an SSE chat completion
// through Junction with usage read on the side (metrics and decision log on)
// against the same Junction with no request observers (nothing reads usage),
// interleaved. (2) also includes what metrics and the decision log cost.
import { createServer } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startJunction, type Junction } from '../src/app.js';
import { newRecord } from '../src/observe/record.js';
import { readUsageOnTheSide } from '../src/observe/token-usage.js';
import type { BenchSection } from './report.js';

const EVENTS = 40;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function benchTokens(requests = 400): Promise<BenchSection> {
  const chunk = (i: number) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: ` w${i}` }, finish_reason: null }] })}\n\n`;
  const usage = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [], usage: { prompt_tokens: 12, completion_tokens: EVENTS, total_tokens: 12 + EVENTS } })}\n\ndata: [DONE]\n\n`;
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk(0));
      // The rest a moment later, so the first byte is the first event alone.
      setImmediate(() => {
        for (let i = 1; i < EVENTS; i++) res.write(chunk(i));
        res.end(usage);
      });
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const config = {
    models: {
      llm: {
        class: 'generator',
        versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: [url] } } },
      },
    },
    objectives: { chat: { interface: 'openai', default: 'llm@1' } },
  };
  const off = await startJunction({ port: 0, config, metrics: false, tracing: false });
  const on = await startJunction({ port: 0, config, tracing: false, decisionLog: '/dev/null' });
  const body = JSON.stringify({
    model: 'chat',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  });

  async function once(j: Junction): Promise<[number, number]> {
    const t0 = performance.now();
    const res = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    let first = 0;
    for await (const _ of res.body) if (first === 0) first = performance.now() - t0;
    return [first, performance.now() - t0];
  }
  const results = {
    off: { ttfb: [] as number[], total: [] as number[] },
    on: { ttfb: [] as number[], total: [] as number[] },
  };
  for (let i = 0; i < 50; i++) {
    await once(off);
    await once(on);
  } // warm-up
  for (let i = 0; i < requests; i++) {
    for (const [name, j] of (i % 2 === 0
      ? [
          ['off', off],
          ['on', on],
        ]
      : [
          ['on', on],
          ['off', off],
        ]) as Array<['off' | 'on', Junction]>) {
      const [ttfb, total] = await once(j);
      results[name].ttfb.push(ttfb);
      results[name].total.push(total);
    }
  }
  await off.close();
  await on.close();
  await new Promise<void>((r) => upstream.close(() => r()));
  const chunks = [...Array.from({ length: EVENTS }, (_, i) => Buffer.from(chunk(i))), Buffer.from(usage)];
  async function consume(withReader: boolean): Promise<void> {
    // Piped into a sink, as Junction pipes a reply into the response.
    const stream = Readable.from(chunks, { objectMode: false });
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const finished = new Promise((r) => sink.once('finish', r));
    stream.pipe(sink);
    if (withReader) readUsageOnTheSide(stream, newRecord('r', 'POST', '/', 0));
    await finished;
  }
  const side = { off: 0, on: 0 };
  for (let round = 0; round < 6; round++) {
    for (const withReader of [false, true]) {
      const t0 = performance.now();
      for (let i = 0; i < 500; i++) await consume(withReader);
      if (round > 0) side[withReader ? 'on' : 'off'] += (performance.now() - t0) / 500;
    }
  }
  const row = (what: string, a: number[], b: number[], p: number) => ({
    measure: `${what} p${p * 100}`,
    'usage off (ms)': percentile(a, p).toFixed(3),
    'usage on (ms)': percentile(b, p).toFixed(3),
    ratio: (percentile(b, p) / percentile(a, p)).toFixed(2),
  });
  return {
    name: 'token accounting on SSE streams',
    rows: [
      {
        measure: 'side reader alone, per stream',
        'usage off (ms)': (side.off / 5).toFixed(4),
        'usage on (ms)': (side.on / 5).toFixed(4),
        ratio: (side.on / side.off).toFixed(2),
      },
      row('time to first byte', results.off.ttfb, results.on.ttfb, 0.5),
      row('time to first byte', results.off.ttfb, results.on.ttfb, 0.99),
      row('whole stream', results.off.total, results.on.total, 0.5),
      row('whole stream', results.off.total, results.on.total, 0.99),
    ],
    notes: [
      `${requests} streamed chat completions of ${EVENTS} events + a usage chunk per side, interleaved, one client at a time`,
      '"on": metrics and decision log observe the request, so usage is read on the side; "off": no observer, nothing reads it',
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchTokens(Number(process.argv[2] ?? 400)));
}
