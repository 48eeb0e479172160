// What admission costs per call (SPEC §16: "admission with a token limit and a
// budget ≤ 20 µs with Redis"), measured on the admission hook alone, in one
// run, interleaved: a client with no limits, with two budgets, with a token
// limit (Redis, leased), and with both. The calls settle as a served call
// would (usage reported), so leases are topped up and given back as in use.
import { performance } from 'node:perf_hooks';
import { startJunction } from '../src/app.js';
import { finishRequest, newRecord } from '../src/observe/record.js';
import { keyDigest } from '../src/tenancy/keys.js';
import type { BenchSection } from './report.js';

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const CLOSED = { writableFinished: true, headersSent: true, statusCode: 200 };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function benchAdmission(calls = 20_000): Promise<BenchSection> {
  const key = (name: string) => ({ keySha256: keyDigest(`sk-bench-${name}-0123456789abcdef`) });
  const budgets = [
    { per: 'day', max: 1e9, unit: 'USD' },
    { per: 'month', max: 1e12, unit: 'tokens' },
  ];
  const clients = {
    none: { ...key('none') },
    budgets: { ...key('budgets'), budgets },
    tokens: { ...key('tokens'), rateLimit: { tpm: 50_000_000 } },
    one: { ...key('one'), rateLimit: { tpm: 50_000_000 }, budgets: budgets.slice(0, 1) },
    both: { ...key('both'), rateLimit: { tpm: 50_000_000 }, budgets },
  };
  const j = await startJunction({
    listen: false,
    redis: REDIS,
    metrics: false,
    tracing: false,
    config: {
      models: {
        llm: {
          class: 'generator',
          versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: ['http://127.0.0.1:9'] } } },
        },
      },
      objectives: { chat: { interface: 'openai', default: 'llm@1' } },
      clients,
    },
  });
  const o = j.runtime.current!.routing.objectives.get('chat')!;
  const admit = j.dataPlane.admit!;
  const once = async (name: keyof typeof clients): Promise<number> => {
    const req = { headers: { authorization: `Bearer sk-bench-${name}-0123456789abcdef`, 'content-length': '800' } };
    const record = newRecord('r', 'POST', '/v1/chat/completions', performance.now());
    const t0 = performance.now();
    const a = await admit(req, o, record, { operation: 'chat/completions' });
    const took = performance.now() - t0;
    // Served: the upstream answered with usage; the response closes.
    record.upstreamMs = 1;
    record.status = 200;
    record.usage = { prompt: 200, completion: 100 };
    a?.release?.();
    // The response closes: the observers count it (the budgets' adds among them), as a served call is.
    finishRequest(j.dataPlane.observers, record, CLOSED, performance.now(), undefined);
    return took * 1000;
  };
  const names = Object.keys(clients) as Array<keyof typeof clients>;
  for (let i = 0; i < 2000; i++) for (const n of names) await once(n); // warm-up: JIT, connections, leases
  const took: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < calls; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const n of order) took[n]!.push(await once(n));
  }
  await j.close();
  const label: Record<string, string> = {
    none: 'no limits',
    budgets: 'two budgets',
    tokens: 'a token limit (Redis)',
    one: 'a token limit (Redis) + a budget',
    both: 'a token limit (Redis) + two budgets',
  };
  return {
    name: 'admission cost per call, with Redis',
    rows: names.map((n) => ({
      client: label[n]!,
      'p50 (µs)': percentile(took[n]!, 0.5).toFixed(1),
      'p99 (µs)': percentile(took[n]!, 0.99).toFixed(1),
      'p50 over no limits (µs)': (percentile(took[n]!, 0.5) - percentile(took.none!, 0.5)).toFixed(1),
    })),
    notes: [
      `${calls} sequential admissions per client, interleaved; Redis at ${REDIS}; SPEC §16 target: ≤ 20 µs with a token limit and a budget`,
      'each call ends as a served call does (usage reported, the observers run), so token leases are used, topped up and given back, and budgets counted, as in production',
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchAdmission(Number(process.argv[2] ?? 20_000)));
}
