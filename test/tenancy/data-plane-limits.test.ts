// The routes that invoke no objective (exposures, feedback, decide, the
// snapshot long-poll) are admitted by the client's rate limit and concurrency
// cap like an objective call; a batch's items are units of rate; the logs they
// write are bounded and the answer says exactly what was written (issue 22).
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startJunction, type Junction, type JunctionOptions } from '../../src/app.js';
import { DecisionLog } from '../../src/observe/decision-log.js';
import { LocalRateLimiter } from '../../src/tenancy/rate-limits.js';
import { keyDigest } from '../../src/tenancy/keys.js';

const KEY = 'jk_limits-test';
const backend = { type: 'http', protocol: 'raw', endpoints: ['http://127.0.0.1:9'] };
const junctions: Junction[] = [];
afterEach(async () => {
  await Promise.all(junctions.splice(0).map((j) => j.close()));
});

function configWith(client: Record<string, unknown> | undefined) {
  return {
    models: { m: { versions: { '1': { backend } } } },
    objectives: { o: { interface: 'json', default: 'm@1' }, secret: { interface: 'json', default: 'm@1' } },
    ...(client === undefined ? {} : { clients: { c: { keySha256: keyDigest(KEY), ...client } } }),
  };
}

async function junction(client: Record<string, unknown> | undefined, extra: Partial<JunctionOptions> = {}) {
  const j = await startJunction({
    listen: false,
    config: configWith(client),
    // The clock never moves: a unit taken stays taken for the whole test, however slow the machine.
    rateLimiter: new LocalRateLimiter(() => 0),
    log: { error() {}, warn() {}, info() {} },
    ...extra,
  });
  junctions.push(j);
  return j;
}

const WHEN = () => new Date(Date.now() - 60_000).toISOString();
const exposure = (unit: string, objective = 'o') => ({
  time: WHEN(),
  objective,
  unit,
  target: 'm@1',
  rule: 'default',
  revision: 1,
});
const feedback = (unit: string, over: Record<string, unknown> = {}) => ({
  objective: 'o',
  unit,
  metric: 'click',
  value: 1,
  ...over,
});

async function post(j: Junction, path: string, body: unknown, key: string | undefined = KEY) {
  const res = await j.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: res.json<Record<string, any>>() };
}

function lines(file: string): number {
  const text = readFileSync(file, 'utf8');
  return text === '' ? 0 : text.trim().split('\n').length;
}

describe('a client limited to 1 request per second', () => {
  const calls: Array<[string, (j: Junction) => Promise<{ status: number; headers: Record<string, unknown> }>]> = [
    ['exposures', (j) => post(j, '/v1/exposures', { exposures: [exposure('u')] })],
    ['feedback', (j) => post(j, '/v1/feedback', feedback('u'))],
    ['decide', (j) => post(j, '/v1/decide', { objective: 'o', unit: 'u' })],
    [
      'snapshot',
      async (j) => {
        const r = await j.inject({
          method: 'GET',
          url: '/v1/config/snapshot',
          headers: { authorization: `Bearer ${KEY}` },
        });
        return { status: r.status, headers: r.headers };
      },
    ],
  ];
  for (const [name, send] of calls) {
    it(`is refused 429 with Retry-After on its second ${name} call`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'junction-limits-'));
      const j = await junction(
        { rateLimit: { rps: 1, burst: 1 } },
        { decisionLog: join(dir, 'd.jsonl'), feedbackLog: join(dir, 'f.jsonl') },
      );
      expect((await send(j)).status).toBeLessThan(300);
      const second = await send(j);
      expect(second.status).toBe(429);
      expect(second.headers['retry-after']).toBe('1');
    });
  }

  it('a batch counts each item: one that does not fit is refused 429 and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-limits-'));
    const file = join(dir, 'd.jsonl');
    const j = await junction(
      { rateLimit: { rps: 1, burst: 5 } },
      { decisionLog: file, feedbackLog: join(dir, 'f.jsonl') },
    );
    const three = [exposure('a'), exposure('b'), exposure('c')];
    expect(await post(j, '/v1/exposures', { exposures: three })).toMatchObject({
      status: 202,
      json: { accepted: 3, written: 3 },
    });
    // 2 units left: the call takes one before the body is read, then 2 more do not fit.
    const refused = await post(j, '/v1/exposures', { exposures: three });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    await j.close();
    expect(lines(file)).toBe(3);
  });

  it('a batch larger than the burst never fits (429, saying so); decide and feedback batches count too', async () => {
    const j = await junction(
      { rateLimit: { rps: 1, burst: 3 } },
      { feedbackLog: join(mkdtempSync(join(tmpdir(), 'jl-')), 'f') },
    );
    const big = await post(j, '/v1/decide', { requests: [1, 2, 3, 4].map((u) => ({ objective: 'o', unit: `${u}` })) });
    expect(big.status).toBe(429);
    expect(big.json.error.message).toMatch(/at most 3 units .* burst/);
    const k = await junction(
      { rateLimit: { rps: 1, burst: 3 } },
      { feedbackLog: join(mkdtempSync(join(tmpdir(), 'jl-')), 'f') },
    );
    expect((await post(k, '/v1/feedback', { feedback: [feedback('a'), feedback('b')] })).status).toBe(202);
    expect((await post(k, '/v1/feedback', { feedback: [feedback('a'), feedback('b')] })).status).toBe(429);
  });
});

/** Resolves once a long-poll is held (admitted, and waiting on the runtime), without sleeping. */
function heldPoll(j: Junction): Promise<void> {
  const waiters = (j.runtime as unknown as { waiters: Set<unknown> }).waiters; // the runtime's own count
  return new Promise<void>((resolve) => {
    const poll = () => (waiters.size > 0 ? resolve() : setImmediate(poll));
    poll();
  });
}

describe('concurrency', () => {
  it('a client at its maxConcurrency holding a long-poll gets 503 on a second; its slot comes back when the poll ends', async () => {
    const j = await startJunction({
      port: 0,
      config: configWith({ maxConcurrency: 1 }),
      log: { error() {}, warn() {}, info() {} },
    });
    junctions.push(j);
    const headers = { authorization: `Bearer ${KEY}`, 'if-none-match': '"rev-1"' };
    const held = request(`${j.url}/v1/config/snapshot?wait=50`, { headers });
    await heldPoll(j);
    const second = await request(`${j.url}/v1/config/snapshot?wait=50`, { headers });
    expect(second.statusCode).toBe(503);
    expect(((await second.body.json()) as any).error.code).toBe('overloaded');
    const decide = await request(`${j.url}/v1/decide`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ objective: 'o' }),
    });
    expect(decide.statusCode).toBe(503);
    await decide.body.dump();
    // A new revision ends the held poll; then the slot is free again.
    await j.runtime.apply(j.runtime.current!.config, { number: 2, source: {}, baseDir: '.' });
    const first = await held;
    expect(first.statusCode).toBe(200);
    await first.body.dump();
    const after = await request(`${j.url}/v1/config/snapshot`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(after.statusCode).toBe(200);
    await after.body.dump();
  });

  it('a process holds at most maxLongPolls long-polls, whoever asks (503 beyond)', async () => {
    const j = await startJunction({ port: 0, config: configWith(undefined), server: { maxLongPolls: 1 } });
    junctions.push(j);
    const headers = { 'if-none-match': '"rev-1"' };
    const held = request(`${j.url}/v1/config/snapshot?wait=50`, { headers });
    await heldPoll(j);
    const second = await request(`${j.url}/v1/config/snapshot?wait=50`, { headers });
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    await second.body.dump();
    // Without wait the snapshot is still served.
    const plain = await request(`${j.url}/v1/config/snapshot`);
    expect(plain.statusCode).toBe(200);
    await plain.body.dump();
    await j.runtime.apply(j.runtime.current!.config, { number: 2, source: {}, baseDir: '.' });
    await (await held).body.dump();
  });
});

describe('scope', () => {
  it('a client may not post exposures or feedback for an objective it may not call (403), and nothing is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-limits-'));
    const [d, f] = [join(dir, 'd.jsonl'), join(dir, 'f.jsonl')];
    const j = await junction({ objectives: ['o'] }, { decisionLog: d, feedbackLog: f });
    const e = await post(j, '/v1/exposures', { exposures: [exposure('a'), exposure('b', 'secret')] });
    expect(e.status).toBe(403);
    expect(e.json.error.message).toMatch(/exposures\[1\]/);
    const fb = await post(j, '/v1/feedback', { feedback: [feedback('a'), feedback('b', { objective: 'secret' })] });
    expect(fb.status).toBe(403);
    await j.close();
    expect(lines(d)).toBe(0);
    expect(lines(f)).toBe(0);
  });
});

/** A sink that takes writes but finishes none until released: the writer's buffer fills deterministically. */
class HeldSink extends Writable {
  chunks: Buffer[] = [];
  private held: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.held.push(done);
  }
  release(): void {
    for (const done of this.held.splice(0)) done();
  }
  lines(): number {
    return Buffer.concat(this.chunks).toString().split('\n').filter(Boolean).length;
  }
}

describe('exact answers', () => {
  it("the answers' written counts are the lines in the log when the writer's buffer overflows", async () => {
    const j = await junction(undefined);
    const sink = new HeldSink();
    const log = new DecisionLog({ sink, sampleRate: () => 1, maxBufferBytes: 4096, flushDelayMs: 0 });
    // This Junction's decision log is the held one (as app.ts wires a file's).
    j.dataPlane.decisionLog = log;
    j.dataPlane.decided = [log.observer];
    let written = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const r = await post(
        j,
        '/v1/exposures',
        { exposures: [exposure(`a${i}`), exposure(`b${i}`), exposure(`c${i}`)] },
        undefined,
      );
      if (r.status === 202) {
        expect(r.json.accepted).toBe(3);
        written += r.json.written as number;
      } else {
        expect(r.status).toBe(503);
        expect(r.json.error.message).toMatch(/none of 3 lines were written/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0); // the buffer did overflow
    // Let the sink finish writes until the log has handed it every line it took.
    let done = false;
    const drained = log.drained().then(() => {
      done = true;
    });
    while (!done) {
      sink.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await drained;
    expect(sink.lines()).toBe(written);
    expect(log.written).toBe(written);
  });
});

describe('log cap (--log-max-bytes)', () => {
  it('refuses exposures and feedback once the file would pass its cap (503), and the file stays under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-cap-'));
    const [d, f] = [join(dir, 'd.jsonl'), join(dir, 'f.jsonl')];
    const errors: string[] = [];
    const j = await junction(undefined, {
      decisionLog: d,
      feedbackLog: f,
      logMaxBytes: 2000,
      log: { error: (_o: object, m: string) => errors.push(m), warn() {}, info() {} },
    });
    let written = 0;
    let status = 202;
    for (let i = 0; i < 20 && status === 202; i++) {
      const r = await post(j, '/v1/exposures', { exposures: [exposure(`u${i}`), exposure(`v${i}`)] }, undefined);
      status = r.status;
      if (r.status === 202) written += r.json.written as number;
      else expect(r.json.error.message).toMatch(/decision log is full \(--log-max-bytes\)/);
    }
    expect(status).toBe(503);
    let fstatus = 202;
    for (let i = 0; i < 40 && fstatus === 202; i++) {
      fstatus = (await post(j, '/v1/feedback', { feedback: [feedback(`u${i}`), feedback(`v${i}`)] }, undefined)).status;
    }
    expect(fstatus).toBe(503);
    const metrics = (await j.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/sink="decision_log"/);
    expect(metrics).toMatch(/sink="feedback_log"/);
    await j.close();
    expect(lines(d)).toBe(written);
    expect(statSync(d).size).toBeLessThanOrEqual(2000);
    expect(statSync(f).size).toBeLessThanOrEqual(2000);
    expect(errors.some((m) => /decision log reached --log-max-bytes/.test(m))).toBe(true);
    expect(errors.some((m) => /feedback log reached --log-max-bytes/.test(m))).toBe(true);
  });

  it('counts what the file already holds when it is opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-cap-'));
    const d = join(dir, 'd.jsonl');
    const first = await junction(undefined, { decisionLog: d });
    expect((await post(first, '/v1/exposures', { exposures: [exposure('a')] }, undefined)).status).toBe(202);
    await first.close();
    const size = statSync(d).size;
    const again = await junction(undefined, { decisionLog: d, logMaxBytes: size + 10 });
    expect((await post(again, '/v1/exposures', { exposures: [exposure('b')] }, undefined)).status).toBe(503);
  });
});

describe('feedback bounds', () => {
  it('refuses non-finite or huge values and times far from now, naming the item and the field', async () => {
    const j = await junction(undefined, { feedbackLog: join(mkdtempSync(join(tmpdir(), 'jl-')), 'f') });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ value: 1e308 }, /feedback\[1\]\.value/],
      [{ value: -1e13 }, /feedback\[1\]\.value/],
      [{ time: new Date(Date.now() + 24 * 3600_000).toISOString() }, /feedback\[1\]\.time/],
      [{ time: '1970-01-01T00:00:00Z' }, /feedback\[1\]\.time/],
    ];
    for (const [over, message] of cases) {
      const r = await post(j, '/v1/feedback', { feedback: [feedback('a'), feedback('b', over)] }, undefined);
      expect(r.status, JSON.stringify(over)).toBe(400);
      expect(r.json.error.message).toMatch(message);
    }
    const ok = await post(j, '/v1/feedback', { feedback: [feedback('a', { value: 1e12, time: WHEN() })] }, undefined);
    expect(ok).toMatchObject({ status: 202, json: { accepted: 1, written: 1 } });
  });
});
