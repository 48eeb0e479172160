// Prices and cost end to end (SPEC §16), through a real Junction in front of
// priced OpenAI-compatible stand-ins, with SQLite and with PostgreSQL: the
// decision log's cost, currency and estimated; junction_cost_total and the
// per-tag series; GET /admin/spend by client, tag, objective and target; and
// `junction spend`. The stand-in counts one token per word (prompt and
// completion alike) and reports `cachedTokens` of the prompt as cached.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';

const pgSkip = await postgresSkipReason();
const SEARCH = 'sk-search-key';
const ADS = 'sk-ads-key';

// Per token: input 0.2, cached input 0.05, output 1 (USD); 0.01 per request.
const PRICE = { inputPerMTok: 200_000, cachedInputPerMTok: 50_000, outputPerMTok: 1_000_000, perRequest: 0.01 };

let good: OpenAiServer;
let down: OpenAiServer;
const dirs: string[] = [];
const schemas: string[] = [];

beforeAll(async () => {
  good = await startOpenAiServer();
  good.cachedTokens = 2;
  down = await startOpenAiServer();
  down.ready = false; // every call answers 503: the fallback answers instead
});
afterAll(async () => {
  await good.close();
  await down.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});
afterEach(() => vi.restoreAllMocks());

function config() {
  const backend = (url: string) => ({ type: 'http', protocol: 'openai', endpoints: [url], model: 'served-llm' });
  return {
    models: {
      chat: {
        class: 'generator',
        versions: {
          '1': { backend: backend(good.url), price: PRICE },
          down: { backend: backend(down.url), price: PRICE },
        },
      },
      cheap: { versions: { '1': { backend: backend(good.url), price: { perRequest: 0.5, currency: 'EUR' } } } },
    },
    objectives: {
      support: { interface: 'openai', default: 'chat@1' },
      rescued: { interface: 'openai', default: 'chat@down', policy: { fallback: ['cheap@1'] } },
    },
    clients: {
      search: { keySha256: keyDigest(SEARCH), tags: { team: 'search', project: 'x' } },
      ads: { keySha256: keyDigest(ADS), tags: { team: 'ads' } },
    },
  };
}

interface Logged {
  cost: number | null;
  currency: string | null;
  estimated: boolean;
  usage: unknown;
}

const stores = [
  {
    name: 'sqlite',
    skip: undefined as string | undefined,
    control: () => {
      const dir = mkdtempSync(join(tmpdir(), 'junction-spend-'));
      dirs.push(dir);
      return { data: dir };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    control: () => {
      const schema = uniqueSchema();
      schemas.push(schema);
      return { store: storeUrl(schema) };
    },
  },
];

for (const s of stores) {
  describe.skipIf(s.skip !== undefined)(`cost and spend with ${s.name}${s.skip ? ` (skipped: ${s.skip})` : ''}`, () => {
    let j: Junction;
    let dir: string;
    let admin: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'junction-spend-log-'));
      dirs.push(dir);
      j = await startJunction({
        config: config(),
        port: 0,
        decisionLog: join(dir, 'decisions.jsonl'),
        control: { ...s.control(), admin: { port: 0, insecure: true } },
        log: { error() {}, warn() {}, info() {} },
      });
      admin = j.control!.adminUrl!;
    });
    afterAll(async () => {
      await j.close();
    });

    async function chat(key: string, body: Record<string, unknown>): Promise<{ id: string; bytes: number }> {
      const text = JSON.stringify(body);
      const res = await request(`${j.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: text,
      });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      return { id: res.headers['x-request-id'] as string, bytes: Buffer.byteLength(text) };
    }

    function logged(id: string): Promise<Logged> {
      return vi.waitFor(() => {
        const line = readFileSync(join(dir, 'decisions.jsonl'), 'utf8')
          .split('\n')
          .find((l) => l.includes(id));
        if (line === undefined) throw new Error(`no decision log line for ${id} yet`);
        return JSON.parse(line) as Logged;
      });
    }

    async function spend(query: string) {
      const res = await request(`${admin}/admin/spend?${query}`);
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    }

    // Filled by the first test, read by the others.
    let estimate = 0;
    let estimatedPrompt = 0;

    it('costs each call from its usage (cached tokens apart), a stream from its side-read usage, a stream without usage estimated, and a fallback at its own price', async () => {
      // 4 prompt tokens (2 cached) and 4 completion tokens: 0.01 + 2·0.2 + 2·0.05 + 4·1
      const whole = await chat(SEARCH, {
        model: 'support',
        messages: [{ role: 'user', content: 'one two three four' }],
      });
      const w = await logged(whole.id);
      expect(w).toMatchObject({ currency: 'USD', estimated: false, usage: { prompt: 4, completion: 4, cached: 2 } });
      expect(w.cost).toBeCloseTo(4.51, 9);

      // A stream whose last chunk carries the usage: 2 prompt tokens, both cached, 2 completion.
      const streamed = await chat(ADS, {
        model: 'support',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'a b' }],
      });
      const st = await logged(streamed.id);
      expect(st).toMatchObject({ currency: 'USD', estimated: false, usage: { prompt: 2, completion: 2, cached: 2 } });
      expect(st.cost).toBeCloseTo(0.01 + 2 * 0.05 + 2 * 1, 9);

      // A stream without usage: prompt ≈ body bytes ÷ 4, completion ≈ its events
      // (the role chunk, three words, the finish chunk and [DONE]).
      const bare = await chat(SEARCH, {
        model: 'support',
        stream: true,
        messages: [{ role: 'user', content: 'x y z' }],
      });
      const b = await logged(bare.id);
      estimatedPrompt = Math.ceil(bare.bytes / 4);
      estimate = 0.01 + estimatedPrompt * 0.2 + 6 * 1;
      expect(b).toMatchObject({ currency: 'USD', estimated: true, usage: null });
      expect(b.cost).toBeCloseTo(estimate, 9);

      // chat@down answers 503: cheap@1 answers, at its own price and currency.
      const rescued = await chat(ADS, { model: 'rescued', messages: [{ role: 'user', content: 'help' }] });
      expect(await logged(rescued.id)).toMatchObject({ cost: 0.5, currency: 'EUR', estimated: false });
    });

    it('counts cost in /metrics by objective, answering target, client and currency, and by tag', async () => {
      const metrics = await request(`${j.url}/metrics`, { headers: { authorization: `Bearer ${SEARCH}` } });
      const samples = parsePrometheus(await metrics.body.text());
      const cost = (labels: Record<string, string>) => sampleValue(samples, 'junction_cost_total', labels);
      expect(cost({ objective: 'support', target: 'chat@1', client: 'search', currency: 'USD' })).toBeCloseTo(
        4.51 + estimate,
        9,
      );
      expect(cost({ objective: 'support', target: 'chat@1', client: 'ads', currency: 'USD' })).toBeCloseTo(2.11, 9);
      expect(cost({ objective: 'rescued', target: 'cheap@1', client: 'ads', currency: 'EUR' })).toBe(0.5);
      const byTag = (labels: Record<string, string>) => sampleValue(samples, 'junction_cost_by_tag_total', labels);
      expect(byTag({ tag: 'project', value: 'x', currency: 'USD' })).toBeCloseTo(4.51 + estimate, 9);
      expect(byTag({ tag: 'team', value: 'ads', currency: 'EUR' })).toBe(0.5);
      expect(
        sampleValue(samples, 'junction_tokens_total', { objective: 'support', client: 'search', kind: 'cached' }),
      ).toBe(2);
    });

    it('sums the ledger in the store by client, tag, objective and target (GET /admin/spend)', async () => {
      const byClient = await spend('by=client');
      expect(byClient.status).toBe(200);
      expect(byClient.json).toMatchObject({ by: 'client', timeZone: 'UTC' });
      const rows = byClient.json.rows as Array<Record<string, unknown>>;
      expect(rows.map((r) => r.key)).toEqual(['ads', 'search']);
      expect(rows[0]).toMatchObject({
        cost: { EUR: 0.5 },
        // The stream's, and the fallback's one-word call (priced per request only, its tokens still count).
        tokens: { prompt: 3, completion: 3, cached: 3 },
        requests: 2,
        estimatedRequests: 0,
      });
      expect((rows[0]!.cost as Record<string, number>).USD).toBeCloseTo(2.11, 9);
      expect(rows[1]).toMatchObject({
        tokens: { prompt: 4 + estimatedPrompt, completion: 4 + 6, cached: 2 },
        requests: 2,
        estimatedRequests: 1,
      });
      expect((rows[1]!.cost as Record<string, number>).USD).toBeCloseTo(4.51 + estimate, 9);
      expect(byClient.json.total).toMatchObject({ requests: 4, estimatedRequests: 1, cost: { EUR: 0.5 } });

      const keys = async (by: string) =>
        ((await spend(`by=${by}`)).json.rows as Array<{ key: string; requests: number }>).map((r) => [
          r.key,
          r.requests,
        ]);
      expect(await keys('tag')).toEqual([
        ['project=x', 2],
        ['team=ads', 2],
        ['team=search', 2],
      ]);
      expect(await keys('objective')).toEqual([
        ['rescued', 1],
        ['support', 3],
      ]);
      expect(await keys('target')).toEqual([
        ['chat@1', 3],
        ['cheap@1', 1],
      ]);
      // A tag budget's scope, and a window with nothing in it.
      const scoped = await spend('tag=team%3Dads');
      expect(scoped.json.total).toMatchObject({ requests: 2, cost: { EUR: 0.5 } });
      const empty = await spend('from=2020-01-01&to=2020-02-01');
      expect(empty.json).toMatchObject({ from: '2020-01-01T00:00:00.000Z', rows: [], total: { requests: 0 } });
    });

    it('refuses a dimension it does not know and times it cannot read', async () => {
      expect((await spend('by=model')).status).toBe(400);
      expect((await spend('from=last-tuesday')).status).toBe(400);
      expect((await spend('from=2026-12-02&to=2026-12-01')).status).toBe(400);
    });

    it('junction spend prints the table and --json the answer', async () => {
      const run = async (...argv: string[]) => {
        let out = '';
        vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
          out += String(chunk);
          return true;
        });
        vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
        try {
          const code = await main(['spend', ...argv, '--admin', admin]);
          return { code, out };
        } finally {
          vi.restoreAllMocks();
        }
      };
      const table = await run('--by', 'target');
      expect(table.code).toBe(0);
      const lines = table.out.split('\n');
      expect(lines[0]).toMatch(/^spend by target, \S+ to \S+ \(UTC\)$/);
      expect(lines[1]).toMatch(/^target\s+cost\s+requests\s+estimated\s+prompt\s+completion\s+cached$/);
      expect(lines[2]).toMatch(/^chat@1\s+\d+\.\d{4} USD\s+3\s+1\s+\d+\s+12\s+4$/);
      expect(lines[3]).toMatch(/^cheap@1\s+0\.5000 EUR\s+1\s+1\s+1\s+1$/);
      expect(lines[4]).toMatch(/^total\s+0\.5000 EUR \+ \d+\.\d{4} USD\s+4\s+1\s/);
      const json = await run('--by', 'tag', '--json');
      expect(JSON.parse(json.out)).toMatchObject({ by: 'tag', rows: expect.any(Array) });
      expect((await run('--by', 'model')).code).toBe(1);
    });
  });
}
