// The fleet bench (issue 23, item 4): eight simulated vLLM replicas
// (replica.ts) behind a real Junction, one run per balancer and workload, side
// by side with an oracle that sends every call to the replica holding the
// longest cached prefix of its prompt (through a Junction too, one objective
// per replica, so both pay the same proxy hop).
//
//   npx tsx bench/llm-fleet/run.ts [--quick] [--write] [--scale 0.25] [--seconds 120]
//        [--only shared-60,unique-60] [--balancers p2c,prefix,oracle]
//
// Each run gets fresh replicas (cold caches) and a fresh Junction started in
// this process (`startJunction`, port 0) whose one `openai` objective's backend
// lists the eight replicas with `balance: <b>`, vLLM load reports scraped from
// their /metrics, and a policy that retries a call that failed before its
// first byte. Calls are streamed with undici's `request`; TTFT is the first
// `data:` event with content. Latencies are reported in simulated ms (wall ms
// / scale): the simulated GPU's time, so Junction's own wall time is inflated
// by 1/scale in them (~0.3 ms wall → ~1.2 ms at scale 0.25; noise here).
// A balancer the config schema refuses, or that fails to start, is reported
// "not available", never replaced by another.
import { performance } from 'node:perf_hooks';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Agent, request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { BALANCERS } from '../../src/config/schema.js';
import type { BenchSection } from '../report.js';
import { formatSection } from '../report.js';
import { A100_LLAMA_8B } from './params.js';
import { renderChat, SimReplica, type ReplicaStats } from './replica.js';
import {
  AGENT,
  ConversationPool,
  fleetCapacity,
  poissonArrivals,
  SHARED,
  UNIQUE,
  type WorkloadSpec,
} from './workload.js';

export const REPLICAS = 8;

export interface Scenario {
  name: string;
  workload: WorkloadSpec;
  /** Share of the fleet's (cache-blind) capacity offered. */
  load: number;
  /** Replica index → step-time multiplier. */
  slow?: Record<number, number>;
  /** Kill this replica at this share of the run. */
  kill?: { replica: number; at: number };
}

export const SCENARIOS: Scenario[] = [
  { name: 'shared-60', workload: SHARED, load: 0.6 },
  { name: 'shared-90', workload: SHARED, load: 0.9 },
  { name: 'agent-60', workload: AGENT, load: 0.6 },
  { name: 'agent-90', workload: AGENT, load: 0.9 },
  { name: 'unique-60', workload: UNIQUE, load: 0.6 },
  // A straggler and a death where affinity holds hardest: agent sessions.
  { name: 'straggler-60', workload: AGENT, load: 0.6, slow: { 0: 3 } },
  { name: 'death-60', workload: AGENT, load: 0.6, kill: { replica: 3, at: 0.4 } },
];

/** A balancer variant: a name in the table and what its backend config says. */
export interface Variant {
  name: string;
  balance?: string;
  prefix?: Record<string, number>;
  oracle?: boolean;
}

export const VARIANTS: Variant[] = [
  { name: 'p2c', balance: 'p2c' },
  { name: 'least-load', balance: 'least-load' },
  { name: 'prefix', balance: 'prefix' },
  // No call here names a LoRA adapter: shows what adapter balancing does with none.
  { name: 'adapter', balance: 'adapter' },
  { name: 'oracle', oracle: true },
];

interface CallResult {
  ok: boolean;
  /** Simulated ms from send to the first content event, and to the end. */
  ttft?: number;
  e2e?: number;
  outputTokens: number;
  replica?: number;
  status?: number;
  /** Failed after content had reached the client (a stream cut mid-answer). */
  receivedContent: boolean;
  error?: string;
  /** Sent after the kill (death scenario). */
  afterKill: boolean;
}

export interface RunResult {
  scenario: string;
  variant: string;
  available: boolean;
  reason?: string;
  calls: CallResult[];
  replicas: ReplicaStats[];
  picks: Record<string, number>;
  wallSeconds: number;
  simSeconds: number;
  /** Death: the killed replica's requests that had started their answer, and those that had not. */
  killed?: { started: number; notStarted: number };
}

interface Options {
  scale: number;
  seconds: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

const POLICY = { timeoutMs: 60_000, replyTimeoutMs: 300_000, idempotent: true, retries: 2, retryBudget: 1 };

/** The oracle's Junction: one objective per replica (`r0` … `r7`), each a target with that one endpoint. */
function oracleConfig(urls: string[]): unknown {
  return {
    models: Object.fromEntries(
      urls.map((u, i) => [
        `replica${i}`,
        {
          class: 'generator',
          versions: {
            '1': {
              backend: {
                type: 'http',
                protocol: 'openai',
                model: 'meta-llama/Llama-3.1-8B-Instruct',
                endpoints: [u],
                connections: 256,
              },
            },
          },
        },
      ]),
    ),
    objectives: Object.fromEntries(
      urls.map((_, i) => [`r${i}`, { interface: 'openai', default: `replica${i}@1`, policy: POLICY }]),
    ),
  };
}

function junctionConfig(urls: string[], v: Variant): unknown {
  if (v.oracle) return oracleConfig(urls);
  return {
    models: {
      llm: {
        class: 'generator',
        versions: {
          '1': {
            backend: {
              type: 'http',
              protocol: 'openai',
              model: 'meta-llama/Llama-3.1-8B-Instruct',
              endpoints: urls,
              connections: 256,
              balance: v.balance,
              load: { metrics: { preset: 'vllm', intervalMs: 250 } },
              ...(v.prefix ? { prefix: v.prefix } : {}),
              health: { intervalMs: 1000, timeoutMs: 500 },
              ejection: { consecutiveFailures: 2, baseEjectionMs: 5000, maxEjectedPercent: 50 },
            },
          },
        },
      },
    },
    objectives: {
      chat: {
        interface: 'openai',
        default: 'llm@1',
        // Generous budgets; a call that failed before its first byte is sent again (to another replica).
        policy: POLICY,
      },
    },
  };
}

/** Streams one chat completion and measures it. */
async function call(
  dispatcher: Agent,
  url: string,
  body: string,
  scale: number,
  afterKill: boolean,
): Promise<CallResult & { answer?: string }> {
  const t0 = performance.now();
  const r: CallResult & { answer?: string } = { ok: false, outputTokens: 0, receivedContent: false, afterKill };
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body,
    });
    r.status = res.statusCode;
    if (res.statusCode !== 200) {
      r.error = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
      return r;
    }
    let buf = '';
    let answer = '';
    let done = false;
    res.body.setEncoding('utf8');
    for await (const piece of res.body as AsyncIterable<string>) {
      buf += piece;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data) as { id?: string; choices?: Array<{ delta?: { content?: string } }> };
        const content = chunk.choices?.[0]?.delta?.content;
        if (r.replica === undefined && chunk.id) {
          const m = /-r(\d+)-/.exec(chunk.id);
          if (m) r.replica = Number(m[1]);
        }
        if (content) {
          if (r.ttft === undefined) r.ttft = (performance.now() - t0) / scale;
          r.receivedContent = true;
          answer += content;
        }
      }
    }
    r.e2e = (performance.now() - t0) / scale;
    r.outputTokens = Math.round(answer.length / A100_LLAMA_8B.charsPerToken);
    if (!done) {
      r.error = 'stream ended without [DONE]';
      return r;
    }
    r.ok = true;
    r.answer = answer;
  } catch (err) {
    r.error = (err as Error).message;
  }
  return r;
}

/** The oracle's pick: the live replica with the longest cached prefix (ties: the least loaded). */
function oraclePick(replicas: SimReplica[], prompt: string): SimReplica {
  let best: SimReplica | undefined;
  let bestTokens = -1;
  for (const r of replicas) {
    if (!r.alive) continue;
    const t = r.cachedPrefixTokens(prompt);
    if (t > bestTokens || (t === bestTokens && best !== undefined && r.load < best.load)) {
      best = r;
      bestTokens = t;
    }
  }
  return best ?? replicas[0]!;
}

async function scrapePicks(j: Junction): Promise<Record<string, number>> {
  const picks: Record<string, number> = {};
  try {
    const res = await request(`${j.url}/metrics`);
    const text = await res.body.text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('junction_picks_total{')) continue;
      const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? '?';
      picks[reason] = (picks[reason] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  } catch {
    // no metrics: no picks reported
  }
  return picks;
}

export async function runOne(s: Scenario, v: Variant, o: Options): Promise<RunResult> {
  const base: RunResult = {
    scenario: s.name,
    variant: v.name,
    available: true,
    calls: [],
    replicas: [],
    picks: {},
    wallSeconds: 0,
    simSeconds: o.seconds,
  };
  if (v.balance !== undefined && !(BALANCERS as readonly string[]).includes(v.balance)) {
    return { ...base, available: false, reason: `balance "${v.balance}" is not in the config schema` };
  }
  const replicas: SimReplica[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    replicas.push(await new SimReplica({ index: i, scale: o.scale, slowdown: s.slow?.[i] ?? 1 }).start());
  }
  const urls = replicas.map((r) => r.url);
  let junction: Junction;
  try {
    junction = await startJunction({ config: junctionConfig(urls, v), port: 0, host: '127.0.0.1', tracing: false });
  } catch (err) {
    await Promise.all(replicas.map((r) => r.close()));
    return { ...base, available: false, reason: (err as Error).message.split('\n')[0] };
  }
  const dispatcher = new Agent({ connections: 512, keepAliveTimeout: 30_000 });
  const cap = fleetCapacity(s.workload, REPLICAS);
  const arrivals = poissonArrivals(cap.perSecond * s.load, o.seconds, s.workload.seed * 31 + Math.round(s.load * 100));
  const pool = new ConversationPool(s.workload);
  const pending: Array<Promise<void>> = [];
  let killed = false;
  const t0 = performance.now();
  const killAt = s.kill ? s.kill.at * o.seconds * 1000 * o.scale : Infinity;
  for (const at of arrivals) {
    const due = at * 1000 * o.scale;
    if (!killed && due >= killAt && s.kill) {
      await sleep(t0 + killAt - performance.now());
      base.killed = replicas[s.kill.replica]!.kill();
      killed = true;
    }
    await sleep(t0 + due - performance.now());
    const turn = pool.next();
    // The oracle names the objective of the replica it picked; the others name the fleet's.
    const model = v.oracle ? `r${oraclePick(replicas, renderChat(turn.messages)).index}` : 'chat';
    const body = JSON.stringify({ model, messages: turn.messages, max_tokens: turn.maxTokens, stream: true });
    const afterKill = killed;
    pending.push(
      call(dispatcher, junction.url, body, o.scale, afterKill).then((r) => {
        pool.complete(turn.conversation, r.ok ? r.answer : undefined);
        delete r.answer;
        base.calls.push(r);
      }),
    );
  }
  await Promise.race([Promise.all(pending), sleep(o.seconds * 1000 * o.scale * 4 + 30_000)]);
  base.wallSeconds = (performance.now() - t0) / 1000;
  base.replicas = replicas.map((r) => r.stats());
  if (!v.oracle) base.picks = await scrapePicks(junction);
  await dispatcher.close().catch(() => undefined);
  await junction.close();
  await Promise.all(replicas.map((r) => r.close()));
  return base;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function summarize(r: RunResult, scale: number): Record<string, string | number> {
  if (!r.available) return { scenario: r.scenario, balancer: r.variant, note: `not available: ${r.reason ?? ''}` };
  const ok = r.calls.filter((c) => c.ok);
  const ttft = ok.map((c) => c.ttft!);
  const e2e = ok.map((c) => c.e2e!);
  const queries = r.replicas.reduce((a, x) => a + x.queries, 0);
  const hits = r.replicas.reduce((a, x) => a + x.hits, 0);
  const served = r.replicas.map((x) => x.admitted);
  const mean = served.reduce((a, b) => a + b, 0) / served.length;
  const failed = r.calls.filter((c) => !c.ok);
  const cut = failed.filter((c) => c.receivedContent).length;
  const simSpan = r.simSeconds + 0; // offered over the arrival window
  const tokens = ok.reduce((a, c) => a + c.outputTokens, 0);
  const lastEnd = Math.max(r.simSeconds, r.wallSeconds / scale);
  return {
    scenario: r.scenario,
    balancer: r.variant,
    calls: r.calls.length,
    'TTFT p50': fmt(percentile(ttft, 0.5)),
    'TTFT p99': fmt(percentile(ttft, 0.99)),
    'E2E p50': fmt(percentile(e2e, 0.5)),
    'E2E p99': fmt(percentile(e2e, 0.99)),
    'req/s': fmt(ok.length / lastEnd, 1),
    'out tok/s': fmt(tokens / lastEnd),
    'cache hit': `${fmt((100 * hits) / Math.max(1, queries), 1)}%`,
    'max/mean served': fmt(Math.max(...served) / mean, 2),
    'peak running': Math.max(...r.replicas.map((x) => x.peakRunning)),
    'peak waiting': Math.max(...r.replicas.map((x) => x.peakWaiting)),
    failed:
      (failed.length === 0 ? '0' : `${failed.length} (${cut} cut mid-stream, ${failed.length - cut} before content)`) +
      (r.killed ? `; at the kill ${r.killed.started} started, ${r.killed.notStarted} not` : ''),
    _span: simSpan,
  };
}

function section(results: RunResult[], o: Options, notes: string[]): BenchSection {
  const rows = results.map((r) => {
    const row = summarize(r, o.scale);
    delete row._span;
    return row;
  });
  return { name: 'LLM fleet: balancers on eight simulated vLLM replicas (bench/llm-fleet)', rows, notes };
}

function parseArgs(argv: string[]): {
  opts: Options;
  write: boolean;
  only?: string[];
  balancers?: string[];
} {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  return {
    opts: { scale: Number(get('--scale') ?? 0.25), seconds: Number(get('--seconds') ?? (quick ? 20 : 120)) },
    write: argv.includes('--write'),
    only: get('--only')?.split(','),
    balancers: get('--balancers')?.split(','),
  };
}

export async function benchFleet(
  opts: Options,
  filter: { only?: string[]; balancers?: string[] } = {},
  log: (line: string) => void = () => undefined,
): Promise<{ section: BenchSection; results: RunResult[] }> {
  const results: RunResult[] = [];
  const scenarios = SCENARIOS.filter((s) => !filter.only || filter.only.includes(s.name));
  const variants = VARIANTS.filter((v) => !filter.balancers || filter.balancers.includes(v.name));
  const load0 = loadavg()[0]!;
  const started = performance.now();
  for (const s of scenarios) {
    for (const v of variants) {
      const r = await runOne(s, v, opts);
      results.push(r);
      const row = summarize(r, opts.scale);
      log(
        `${s.name} ${v.name}: ${JSON.stringify(row)} picks=${JSON.stringify(r.picks)} wall=${r.wallSeconds.toFixed(1)}s`,
      );
    }
  }
  const cap = (w: WorkloadSpec) => {
    const c = fleetCapacity(w, REPLICAS);
    return `${w.name} ${c.perSecond.toFixed(1)} req/s (mean prompt ${c.meanPromptTokens.toFixed(0)} tokens, answer ${c.meanOutputTokens.toFixed(0)})`;
  };
  const notes = [
    `${REPLICAS} replicas of a simulated vLLM (Llama-3.1-8B on an A100-class GPU, parameters and sources in bench/llm-fleet/params.ts): prefix cache of ${A100_LLAMA_8B.kvBlocks} blocks × ${A100_LLAMA_8B.blockTokens} tokens (LRU), prefill ${A100_LLAMA_8B.prefillMsPerToken} ms per uncached token, decode step ${A100_LLAMA_8B.stepBaseMs} + ${A100_LLAMA_8B.stepPerSeqMs} ms × batch, max batch ${A100_LLAMA_8B.maxBatch}, ${A100_LLAMA_8B.maxBatchedTokens} tokens per step`,
    `times in simulated ms (wall × ${1 / opts.scale}); ${opts.seconds} simulated s of Poisson arrivals per run; fresh replicas (cold caches) and a fresh Junction per run`,
    `capacity (no cache hits, full batches): ${[SHARED, AGENT, UNIQUE].map(cap).join('; ')}; -60/-90 offer that share of it`,
    'shared: chat, 4 system prompts of 1–2k tokens, 64 open conversations of 3–8 turns of 20–150 tokens, each turn the whole history; agent: 4 system prompts of 2–4k tokens, 64 open sessions of 4–12 turns each adding 300–1,500 tokens (a tool’s output), answers of 30–150 (the shape of published coding-agent traces, workload.ts); unique: every call its own random prompt, one turn',
    'straggler (agent): replica 0 steps 3× slower; death (agent): replica 3 destroys its sockets and stops listening at 40 % of the run ("cut mid-stream": the client had content; "before content": it had none)',
    'oracle: the harness asks every simulator (in-process) for the cached prefix of the prompt and sends the call to the longest holder (ties: the least loaded) through a Junction objective of that one replica; no load bound',
    'cache hit: prompt tokens found in the replicas’ prefix caches / prompt tokens (vllm:prefix_cache_hits/queries); max/mean served: calls admitted per replica; peak running/waiting: the busiest replica',
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${load0.toFixed(2)} at the start (shared with other work); ${((performance.now() - started) / 60000).toFixed(1)} min for the whole run`,
  ];
  return { section: section(results, opts, notes), results };
}

const MARK_BEGIN = '<!-- llm-fleet:begin -->';
const MARK_END = '<!-- llm-fleet:end -->';

/**
 * The fleet section of a report, between its markers (`wrap`: `text` is a
 * fresh section to wrap in them); '' when there is none.
 */
export function fleetBlock(text: string, wrap = false): string {
  if (wrap) return `${MARK_BEGIN}\n${text}\n${MARK_END}`;
  const a = text.indexOf(MARK_BEGIN);
  const b = text.indexOf(MARK_END);
  return a >= 0 && b > a ? text.slice(a, b + MARK_END.length) : '';
}

/** Replaces (or appends) the fleet section of docs/bench-results.md. */
export function writeFleetSection(text: string, file = new URL('../../docs/bench-results.md', import.meta.url)): void {
  let doc: string;
  try {
    doc = readFileSync(file, 'utf8');
  } catch {
    doc = '';
  }
  const block = `${MARK_BEGIN}\n${text}\n${MARK_END}`;
  const a = doc.indexOf(MARK_BEGIN);
  const b = doc.indexOf(MARK_END);
  doc = a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + MARK_END.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { opts, write, only, balancers } = parseArgs(process.argv.slice(2));
  const { section: s } = await benchFleet(opts, { only, balancers }, (l) => console.error(l));
  const text = formatSection(s);
  console.log(text);
  if (write) {
    writeFleetSection(text);
    console.log('wrote the fleet section of docs/bench-results.md');
  }
}
