// junction-router-client against a real Junction and real upstreams: local decisions
// equal the server's, invoke calls the target directly (Junction's metrics do
// not move) with the server's protocol rewrite, in-process targets go through
// Junction, new revisions arrive by long-poll, and the SDK keeps deciding when
// Junction is away (from memory, or from its cache file at boot).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../../src/app.js';
import { parsePrometheus, sampleValue } from '../../../test/support/prometheus.js';
import { REPO_ROOT } from '../../../test/support/onnx.js';
import { startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { JunctionClient, type ClientEvent } from '../src/index.js';

const quiet = { error() {}, warn() {}, info() {} };
let chatA: Upstream;
let chatB: Upstream;
let j: Junction;

function config(rolloutPercent: number) {
  return {
    models: {
      chat: {
        class: 'generator',
        versions: {
          '1': {
            backend: { type: 'http', protocol: 'openai', endpoints: [`${chatA.url}/base`], model: 'served-chat-1' },
          },
          '2': { backend: { type: 'http', protocol: 'openai', endpoints: [chatB.url] } },
        },
      },
      ranker: { class: 'scorer', versions: { '6': { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } } } },
    },
    objectives: {
      'support-chat': {
        interface: 'openai',
        default: 'chat@1',
        rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'chat@2' }],
        rollout: { candidate: 'chat@2', percent: rolloutPercent },
      },
      ranking: { default: 'ranker@6' },
    },
  };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const samples = parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
  return sampleValue(samples, name, labels);
}

function waitFor(events: ClientEvent[], pred: (e: ClientEvent) => boolean, ms = 10_000): Promise<ClientEvent> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const found = events.find(pred);
      if (found) return resolve(found);
      if (Date.now() - start > ms) return reject(new Error(`no such event in ${JSON.stringify(events)}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

beforeAll(async () => {
  chatA = await startUpstream('chat-1');
  chatB = await startUpstream('chat-2');
  j = await startJunction({
    port: 0,
    config: config(0),
    baseDir: REPO_ROOT,
    control: { data: ':memory:' },
    log: quiet,
  });
});
afterAll(async () => {
  await j?.close();
  await chatA?.close();
  await chatB?.close();
});

describe('deciding and calling', () => {
  let jc: JunctionClient;
  const events: ClientEvent[] = [];
  beforeAll(async () => {
    jc = await JunctionClient.connect({ url: j.url, onEvent: (e) => events.push(e), exposures: { flushMs: 50 } });
  });
  afterAll(async () => jc?.close());

  it('decides as the server does, with the headers the server would send', async () => {
    const d = jc.decide('support-chat', { unit: 'user-42', context: { Country: 'BR' } });
    expect(d).toMatchObject({
      objective: 'support-chat',
      target: 'chat@2',
      rule: 'rule:br',
      routingKey: 'chat@2',
      remote: true,
      protocol: 'openai',
    });
    expect(d.endpoints).toEqual([chatB.url]);
    expect(d.grpc).toBeNull(); // an HTTP target: invoke or d.endpoints, not a gRPC client
    expect(d.headers).toEqual({
      'x-model': 'chat@2',
      'x-decision': `rule=rule:br revision=${d.revision}`,
      'x-junction-target': 'chat@2',
    });
    const server = (await (
      await request(`${j.url}/v1/decide`, {
        method: 'POST',
        body: JSON.stringify({ objective: 'support-chat', unit: 'user-42', context: { country: 'BR' } }),
      })
    ).body.json()) as Record<string, unknown>;
    expect(server).toMatchObject({ target: d.target, rule: d.rule, revision: d.revision, routingKey: d.routingKey });
    expect(jc.decide('support-chat', {}).headers['x-decision']).toMatch(/unit=none$/);
    expect(() => jc.decide('nope')).toThrow(expect.objectContaining({ code: 'objective_not_found' }));
    expect(() => jc.decide('support-chat', { override: 'chat@2' })).toThrow(
      expect.objectContaining({ code: 'override_forbidden' }),
    );
  });

  it('invoke calls the remote target directly, rewriting path and model as the server does; Junction serves nothing', async () => {
    const before = await metric('junction_requests_total', { objective: 'support-chat' });
    const res = await jc.invoke(
      'support-chat',
      { model: 'support-chat', messages: [{ role: 'user', content: 'hi' }] },
      { unit: 'user-1' },
    );
    expect(res.direct).toBe(true);
    expect(res.status).toBe(200);
    expect(await res.body.json()).toEqual({ served: 'chat-1' });
    const got = chatA.received.at(-1)!;
    expect(got.url).toBe('/base/v1/chat/completions');
    expect(JSON.parse(got.body.toString()).model).toBe('served-chat-1');
    expect(got.headers['x-model']).toBe('chat@1');
    expect(got.headers['x-decision']).toBe(`rule=default revision=${jc.revision}`);
    expect(await metric('junction_requests_total', { objective: 'support-chat' })).toBe(before);
  });

  it('invoke of an in-process (ONNX) target goes through Junction, which serves and decides it', async () => {
    const body = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/requests/continue-watching-ranking.json'), 'utf8'));
    const res = await jc.invoke('ranking', body, { unit: 'user-7' });
    expect(res.direct).toBe(false);
    expect(res.status).toBe(200);
    expect(res.headers['x-model']).toBe('ranker@6');
    expect(((await res.body.json()) as { outputs: { score: number[][] } }).outputs.score).toHaveLength(3);
    expect(res.decision.remote).toBe(false);
  });

  it('reports exposures in batches: junction_decisions_total{via="sdk"} counts them', async () => {
    await jc.flush(); // exposures of the decisions earlier tests made
    const before = await metric('junction_decisions_total', {
      objective: 'support-chat',
      target: 'chat@1',
      via: 'sdk',
    });
    for (let i = 0; i < 25; i++) jc.decide('support-chat', { unit: `exposed-${i}`, context: { country: 'US' } });
    await jc.flush();
    expect(await metric('junction_decisions_total', { objective: 'support-chat', target: 'chat@1', via: 'sdk' })).toBe(
      before + 25,
    );
    expect(jc.stats.exposuresDropped).toBe(0);
  });

  it('a new revision is used as soon as the long-poll brings it', async () => {
    const from = jc.revision!;
    await j.control!.plane.apply({ source: config(100), author: 'test', message: 'roll out' });
    await waitFor(events, (e) => e.type === 'revision' && e.revision === from + 1);
    const d = jc.decide('support-chat', { unit: 'user-1' });
    expect(d).toMatchObject({ target: 'chat@2', rule: 'rollout', revision: from + 1 });
  });
});

describe('when Junction is away', () => {
  it('keeps deciding on the last snapshot, says so, and starts from its cache file while Junction is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-sdk-'));
    const cacheFile = join(dir, 'snapshot.json');
    const k = await startJunction({ port: 0, config: config(0), baseDir: REPO_ROOT, log: quiet });
    const port = new URL(k.url).port;
    const events: ClientEvent[] = [];
    const jc = await JunctionClient.connect({
      url: k.url,
      cacheFile,
      onEvent: (e) => events.push(e),
      backoff: { minMs: 20, maxMs: 100 },
      exposures: false,
    });
    const before = jc.decide('support-chat', { unit: 'user-9' });
    for (let i = 0; i < 100 && !existsNonEmpty(cacheFile); i++) await new Promise((r) => setTimeout(r, 10));
    await k.close();
    await waitFor(events, (e) => e.type === 'disconnected');
    expect(jc.decide('support-chat', { unit: 'user-9' })).toBe(before);

    // A second process boots while Junction is down: it decides from the cache file.
    const booted: ClientEvent[] = [];
    const cold = await JunctionClient.connect({
      url: k.url,
      cacheFile,
      onEvent: (e) => booted.push(e),
      backoff: { minMs: 20, maxMs: 100 },
      exposures: false,
    });
    expect(booted).toContainEqual({ type: 'revision', revision: before.revision, source: 'cache' });
    expect(cold.decide('support-chat', { unit: 'user-9' }).target).toBe(before.target);

    // Junction comes back on the same port: both reconnect.
    const back = await startJunction({ port: Number(port), config: config(100), baseDir: REPO_ROOT, log: quiet });
    await waitFor(events, (e) => e.type === 'reconnected');
    await waitFor(booted, (e) => e.type === 'reconnected');
    await jc.close();
    await cold.close();
    await back.close();
  });

  it('a snapshot that fails to validate is ignored whole; the previous one stays in use', async () => {
    const good = await startJunction({ port: 0, config: config(0), baseDir: REPO_ROOT, log: quiet });
    const snap = (await (await request(`${good.url}/v1/config/snapshot`)).body.json()) as {
      revision: number;
      config: any;
    };
    await good.close();
    let serveBad = false;
    const server = createServer((req, res) => {
      if (!serveBad) {
        res.writeHead(200, { 'content-type': 'application/json', etag: '"rev-1"' });
        res.end(JSON.stringify({ ...snap, revision: 1 }));
        return;
      }
      const bad = structuredClone(snap);
      bad.revision = 2;
      bad.config.objectives['support-chat'].default = 'chat@99'; // names a target that does not exist
      res.writeHead(200, { 'content-type': 'application/json', etag: '"rev-2"' });
      res.end(JSON.stringify(bad));
      server.close();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const events: ClientEvent[] = [];
    const jc = await JunctionClient.connect({
      url,
      onEvent: (e) => events.push(e),
      waitSeconds: 1,
      backoff: { minMs: 20, maxMs: 50 },
      exposures: false,
    });
    serveBad = true;
    const rejected = await waitFor(events, (e) => e.type === 'snapshot_rejected');
    expect(rejected).toMatchObject({ revision: 2 });
    expect((rejected as { error: string }).error).toMatch(/has no version "99"/);
    expect(jc.revision).toBe(1);
    expect(jc.decide('support-chat', { unit: 'u' }).target).toBe('chat@1');
    await jc.close();
    server.closeAllConnections();
  });

  it('connect fails clearly when there is neither Junction nor a cache file', async () => {
    await expect(JunctionClient.connect({ url: 'http://127.0.0.1:9', backoff: { minMs: 10 } })).rejects.toMatchObject({
      code: 'not_ready',
    });
  });

  it('exposures never block deciding: over the buffer they are dropped and counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-sdk-'));
    const cacheFile = join(dir, 'snapshot.json');
    const k = await startJunction({ port: 0, config: config(0), baseDir: REPO_ROOT, log: quiet });
    const snap = await (await request(`${k.url}/v1/config/snapshot`)).body.text();
    await k.close();
    writeFileSync(cacheFile, snap);
    const events: ClientEvent[] = [];
    // Junction is down: nothing can be delivered, and the buffer holds 10.
    const jc = await JunctionClient.connect({
      url: k.url,
      cacheFile,
      onEvent: (e) => events.push(e),
      backoff: { minMs: 1000, maxMs: 1000 },
      exposures: { maxBuffered: 10, batchSize: 1000, flushMs: 60_000 },
    });
    for (let i = 0; i < 50; i++) jc.decide('support-chat', { unit: `u${i}` });
    expect(jc.stats.exposuresDropped).toBe(40);
    await jc.close(); // tries to deliver the 10 (Junction is down): dropped and counted too
    expect(jc.stats.exposuresDropped).toBe(50);
    expect(events.filter((e) => e.type === 'exposures_dropped').at(-1)).toMatchObject({ total: 50 });
  });
});

function existsNonEmpty(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').length > 0;
  } catch {
    return false;
  }
}
