// Balancers over real sockets (SPEC §14): prefix affinity on the OpenAI body's
// messages (read from the bytes the protocol already holds), adapter affinity
// from each replica's /v1/models, and the decision log naming the replica
// picked and why.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { recordTelemetry } from '../support/telemetry.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function fleet(n: number, models: (i: number) => string[] = () => ['served']): Promise<Upstream[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const up = await startUpstream(`r${i}`);
      up.handle((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url === '/v1/models')
          res.end(
            JSON.stringify({ object: 'list', data: models(i).map((id) => ({ id, object: 'model', parent: 'base' })) }),
          );
        else res.end(JSON.stringify({ served: `r${i}` }));
      });
      open.push(up);
      return up;
    }),
  );
}

async function junctionWith(backend: object, extra: object = {}) {
  const telemetry = recordTelemetry();
  const j: Junction = await startJunction({
    telemetry: telemetry.sink,
    port: 0,
    ...extra,
    config: {
      models: {
        llm: { class: 'generator', versions: { '1': { backend: { type: 'http', protocol: 'openai', ...backend } } } },
      },
      objectives: { chat: { interface: 'openai', default: 'llm@1' } },
    },
  });
  open.unshift(j);
  return { j, telemetry };
}

async function chat(j: Junction, system: string, user: string): Promise<string> {
  const res = await request(`${j.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'chat',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
      ],
    }),
  });
  return ((await res.body.json()) as { served: string }).served;
}

const SYSTEMS = Array.from(
  { length: 8 },
  (_, i) => `System prompt number ${i}: you answer questions about topic ${i}. `.repeat(40), // two whole 1 KiB blocks
);

describe('balancers through the http backend', () => {
  it('prefix: conversations on one system prompt go to one replica; different prompts spread', async () => {
    const ups = await fleet(4);
    const { j, telemetry } = await junctionWith({ endpoints: ups.map((u) => u.url), balance: 'prefix' });
    const home = new Map<number, Set<string>>();
    for (let round = 0; round < 5; round++) {
      for (let s = 0; s < SYSTEMS.length; s++) {
        const served = await chat(j, SYSTEMS[s]!, `question ${round}`);
        if (!home.has(s)) home.set(s, new Set());
        home.get(s)!.add(served);
      }
    }
    for (const replicas of home.values()) expect(replicas.size).toBe(1); // one replica per prompt (nothing open: no spill)
    expect(new Set([...home.values()].map((r) => [...r][0])).size).toBeGreaterThan(1);
    expect(telemetry.count('picked', 'llm@1', 'prefix-hit')).toBe(32);
    expect(telemetry.count('picked', 'llm@1', 'prefix-miss')).toBe(8);
  });

  it('prefix: a prompt shorter than a block falls back to load and says so', async () => {
    const ups = await fleet(2);
    const { j, telemetry } = await junctionWith({ endpoints: ups.map((u) => u.url), balance: 'prefix' });
    await chat(j, 'hi', 'there');
    expect(telemetry.count('picked', 'llm@1', 'prefix-short')).toBe(1);
  });

  it('adapter: calls for a LoRA adapter go to the replica that lists it in /v1/models', async () => {
    const ups = await fleet(4, (i) => (i === 2 ? ['base', 'sql-lora'] : ['base']));
    const { j, telemetry } = await junctionWith({
      endpoints: ups.map((u) => u.url),
      balance: 'adapter',
      model: 'sql-lora',
      load: { metrics: { intervalMs: 100, preset: 'vllm' } },
    });
    const deadline = Date.now() + 5000;
    while (ups.some((u) => !u.received.some((r) => r.url === '/v1/models')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 6; i++) expect(await chat(j, 'x', `q${i}`)).toBe('r2');
    expect(telemetry.count('picked', 'llm@1', 'adapter-hit')).toBe(6);
  });

  it('the decision log names the replica and the reason', async () => {
    const ups = await fleet(1);
    const file = join(mkdtempSync(join(tmpdir(), 'junction-pick-')), 'decisions.jsonl');
    const { j } = await junctionWith({ endpoints: [ups[0]!.url] }, { decisionLog: file });
    await chat(j, 'x', 'y');
    await j.close();
    const line = JSON.parse(readFileSync(file, 'utf8').trim().split('\n')[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ endpoint: ups[0]!.url, pick: 'p2c' });
  });

  it("a shadow copy does not replace the live call's replica in the decision log", async () => {
    const [live, shadow] = await fleet(2);
    const file = join(mkdtempSync(join(tmpdir(), 'junction-pick-')), 'decisions.jsonl');
    const j = await startJunction({
      port: 0,
      decisionLog: file,
      config: {
        models: {
          llm: {
            class: 'generator',
            versions: {
              '1': { backend: { type: 'http', protocol: 'openai', endpoints: [live!.url] } },
              '2': { backend: { type: 'http', protocol: 'openai', endpoints: [shadow!.url] } },
            },
          },
        },
        objectives: { chat: { interface: 'openai', default: 'llm@1', shadow: [{ use: 'llm@2', percent: 100 }] } },
      },
    });
    open.unshift(j);
    await chat(j, 'x', 'y');
    const deadline = Date.now() + 5000;
    while (!shadow!.received.some((r) => r.url === '/v1/chat/completions') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await j.close();
    const line = JSON.parse(readFileSync(file, 'utf8').trim().split('\n')[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ endpoint: live!.url, pick: 'p2c' });
  });

  it('replicas() shows each replica with its load report', async () => {
    const ups = await fleet(2);
    const { j } = await junctionWith({ endpoints: ups.map((u) => u.url), balance: 'least-load' });
    const backend = j.runtime.current!.backends.get('llm@1')!;
    const views = backend.replicas!();
    expect(views.map((v) => v.address).sort()).toEqual(ups.map((u) => u.url).sort());
    expect(views[0]).toMatchObject({ outstanding: 0, ready: true, ejectedUntil: undefined, load: undefined });
  });
});
