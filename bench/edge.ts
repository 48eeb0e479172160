// Decisions out of the path (SPEC §9–§10), side by side in one run:
// - the SDK's decide rate (in process, one core);
// - the SDK's invoke added latency over calling the same upstream directly;
// - nginx routing SDK-decided requests on x-junction-target (the exported
//   config) vs the same nginx proxying with no routing, and Junction in the
//   path on the same workload.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { startJunction } from '../src/app.js';
import { nginxConfig } from '../src/cli/nginx-config.js';
import { validateConfig } from '../src/config/load.js';
import { compileRouting } from '../src/routing/compile.js';
import { decide } from '../src/routing/decide.js';
import type { RoutingRequest } from '../src/routing/types.js';
import { JunctionClient } from '../packages/client/src/index.js';
import { benchConfig } from './decide.js';
import type { BenchSection } from './report.js';
import {
  freePort,
  has,
  nginxMainConfig,
  start,
  startFixedUpstreams,
  startJunctionServe,
  stop,
  waitFor,
  wrk,
  type LoadResult,
} from './tools.js';

const quiet = { error() {}, warn() {}, info() {} };
const BODY = '{"user":"user-1","titles":[101,202,303,404]}';

/**
 * Two unit patterns, labelled as such in the report: 4,096 units cycled (every
 * unit decides again within 4,096 calls, as a user's session does: the SDK's
 * bucket memo answers), and a new unit string on every call, made in the loop
 * for the core and the SDK alike (nothing to remember: the memo steps aside).
 */
/** `fresh`: the measure's own counter, so its units never repeat across calls and rounds. */
type Units = 'cycled' | { fresh: number };
const CYCLED: readonly string[] = Array.from({ length: 4096 }, (_, i) => `user-${i}`);

async function decideRate(
  jc: JunctionClient,
  objective: string,
  seconds: number,
  units: Units = 'cycled',
): Promise<number> {
  const context = { country: 'US', device: 'tv' };
  let n = 0;
  let sink = 0;
  const end = performance.now() + seconds * 1000;
  if (units === 'cycled') {
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++, n++) sink += jc.decide(objective, { unit: CYCLED[n & 4095]!, context }).revision;
    }
  } else {
    const from = units.fresh;
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++, n++) sink += jc.decide(objective, { unit: `fresh-${from + n}`, context }).revision;
    }
    units.fresh += n;
  }
  if (sink === -1) console.log(sink);
  return n / seconds;
}

/** The routing core called directly, as bench/decide.ts does: what the SDK's decide wraps. */
function serverDecideRate(seconds: number, units: Units = 'cycled'): number {
  const table = compileRouting(validateConfig(benchConfig(1)), 1);
  const o = table.objectives.get('objective-0')!;
  const context = { country: 'US', device: 'tv' };
  const reqs: RoutingRequest[] = CYCLED.map((unit) => ({ unit, context, trafficClass: 'live' }));
  let n = 0;
  let sink = 0;
  const end = performance.now() + seconds * 1000;
  if (units === 'cycled') {
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++, n++) sink += decide(table, o, reqs[n & 4095]!).revision;
    }
  } else {
    const from = units.fresh;
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++, n++)
        sink += decide(table, o, { unit: `fresh-${from + n}`, context, trafficClass: 'live' }).revision;
    }
    units.fresh += n;
  }
  if (sink === -1) console.log(sink);
  return n / seconds;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Sequential calls, direct and through the SDK interleaved, so both see the same machine state. */
async function invokeLatency(jc: JunctionClient, objective: string, upstream: string, n: number) {
  const agent = new Agent({ connections: 8 });
  const direct = new Float64Array(n);
  const sdk = new Float64Array(n);
  for (let i = -200; i < n; i++) {
    let t = performance.now();
    const d = await request(upstream, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json' },
      dispatcher: agent,
    });
    await d.body.dump();
    if (i >= 0) direct[i] = performance.now() - t;
    t = performance.now();
    const r = await jc.invoke(objective, BODY, {
      unit: `user-${i & 4095}`,
      headers: { 'content-type': 'application/json' },
      expose: false,
    });
    await r.body.dump();
    if (i >= 0) sdk[i] = performance.now() - t;
  }
  await agent.close();
  direct.sort();
  sdk.sort();
  return {
    direct: { p50: percentile(direct, 0.5), p99: percentile(direct, 0.99) },
    sdk: { p50: percentile(sdk, 0.5), p99: percentile(sdk, 0.99) },
  };
}

/** A wrk script replaying SDK decisions: each request carries its unit and the target the SDK chose. */
function decidedScript(decisions: Array<{ unit: string; target: string }>, path: string): string {
  const list = (xs: string[]) => `{${xs.map((x) => `"${x}"`).join(',')}}`;
  return `
wrk.method = "POST"
wrk.body = '${BODY}'
wrk.headers["content-type"] = "application/json"
units = ${list(decisions.map((d) => d.unit))}
targets = ${list(decisions.map((d) => d.target))}
counter = 0
request = function()
  counter = counter + 1
  local i = (counter % ${decisions.length}) + 1
  wrk.headers["x-unit-id"] = units[i]
  wrk.headers["x-junction-target"] = targets[i]
  return wrk.format(nil, "${path}")
end
`;
}

export async function benchEdge(opts: { seconds?: number } = {}): Promise<BenchSection> {
  const seconds = opts.seconds ?? 5;
  const rows: Array<Record<string, string | number>> = [];
  const notes: string[] = [];

  // 1. SDK decide rate next to the routing core's, on the decide bench's config
  // (rules, an experiment, a rollout); interleaved rounds, the best of each kept.
  const decideJ = await startJunction({ port: 0, config: benchConfig(1), log: quiet, metrics: false });
  try {
    const quiet1 = await JunctionClient.connect({ url: decideJ.url, exposures: false });
    const exposing = await JunctionClient.connect({ url: decideJ.url, exposures: { maxBuffered: 10_000 } });
    const noMemo = await JunctionClient.connect({ url: decideJ.url, exposures: false, bucketMemo: 0 });
    // New units on a client of their own: on `quiet1` they would push its memo aside between its cycled rounds.
    const quietFresh = await JunctionClient.connect({ url: decideJ.url, exposures: false });
    const coreFresh = { fresh: 0 };
    const offFresh = { fresh: 0 };
    const noMemoFresh = { fresh: 0 };
    const measures: Array<[string, () => Promise<number> | number]> = [
      ['core', () => serverDecideRate(slice)],
      ['core fresh', () => serverDecideRate(slice, coreFresh)],
      ['off', () => decideRate(quiet1, 'objective-0', slice)],
      ['on', () => decideRate(exposing, 'objective-0', slice)],
      ['no memo', () => decideRate(noMemo, 'objective-0', slice)],
      ['off fresh', () => decideRate(quietFresh, 'objective-0', slice, offFresh)],
      ['no memo fresh', () => decideRate(noMemo, 'objective-0', slice, noMemoFresh)],
    ];
    let slice = 0.3; // JIT warm-up
    for (const [, m] of measures) await m();
    slice = Math.min(1, seconds / 3);
    const best = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (const [name, m] of measures) best.set(name, Math.max(best.get(name) ?? 0, await m()));
    }
    const dropped = exposing.stats.exposuresDropped;
    const memo = quiet1.stats.buckets!;
    const freshMemo = quietFresh.stats.buckets!;
    await quiet1.close();
    await quietFresh.close();
    await exposing.close();
    await noMemo.close();
    const rate = (name: string) => best.get(name)!;
    const vs = (name: string, core: string) =>
      `${(rate(name) / 1e6).toFixed(2)}× of 1M/s; ${(rate(name) / rate(core)).toFixed(2)}× the core`;
    rows.push({
      measure: 'server routing core (decide, same config), 4,096 units cycled',
      value: `${Math.round(rate('core'))}/s`,
    });
    rows.push({
      measure: 'SDK decide, 4,096 units cycled (memo answers), exposures off',
      value: `${Math.round(rate('off'))}/s`,
      'vs target': vs('off', 'core'),
    });
    rows.push({
      measure: 'SDK decide, 4,096 units cycled (memo answers), exposures on',
      value: `${Math.round(rate('on'))}/s`,
      'vs target': vs('on', 'core'),
    });
    rows.push({
      measure: 'SDK decide, 4,096 units cycled, bucketMemo: 0',
      value: `${Math.round(rate('no memo'))}/s`,
      'vs target': vs('no memo', 'core'),
    });
    rows.push({ measure: 'server routing core, a new unit every call', value: `${Math.round(rate('core fresh'))}/s` });
    rows.push({
      measure: 'SDK decide, a new unit every call (memo steps aside), exposures off',
      value: `${Math.round(rate('off fresh'))}/s`,
      'vs target': vs('off fresh', 'core fresh'),
    });
    rows.push({
      measure: 'SDK decide, a new unit every call, bucketMemo: 0',
      value: `${Math.round(rate('no memo fresh'))}/s`,
      'vs target': vs('no memo fresh', 'core fresh'),
    });
    notes.push(
      "SDK decide is the server's routing core plus a request object, a cached decision lookup and (exposures on) one buffered record; the core's cost is two SHA-256 buckets (experiment, rollout) per decision",
    );
    notes.push(
      `the SDK's bucket memo (default 32,768 (salt, unit) pairs) answers a unit that comes back without the SHA-256; "cycled" units come back within 4,096 calls, "new unit every call" never does (the unit string is made in the loop, for the core too); memo over the run, cycled units: ${memo.hits} hits, ${memo.misses} misses, ${memo.bypassed} sent past it; new units (a client of their own): ${freshMemo.hits} hits, ${freshMemo.misses} misses, ${freshMemo.bypassed} sent past it`,
    );
    notes.push(
      `exposures on: batches go to a Junction in the same process; ${dropped} dropped from the bounded buffer (10,000) rather than slow decide`,
    );
  } finally {
    await decideJ.close();
  }

  if (!has('wrk') || !has('nginx')) {
    notes.push('nginx rows skipped: needs wrk and nginx (apt-get install -y wrk nginx-light)');
    return { name: 'decisions out of the path (SDK, nginx on x-junction-target)', rows, notes };
  }

  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-edge-'));
  const [up1, up2, plain, routed, junctionPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const junctionUrl = `http://127.0.0.1:${junctionPort}`;
  const source = {
    models: {
      ranker: {
        class: 'scorer',
        versions: {
          '6': { backend: { type: 'http', endpoints: [`http://127.0.0.1:${up1}/score`] } },
          '7': { backend: { type: 'http', endpoints: [`http://127.0.0.1:${up2}/score`] } },
        },
      },
    },
    objectives: {
      'continue-watching-ranking': {
        default: 'ranker@6',
        rules: [{ when: { context: { country: ['BR', 'MX'] } }, use: 'ranker@7' }],
        experiments: [
          {
            id: 'cw-42',
            population: 1,
            cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
          },
        ],
      },
    },
  };
  writeFileSync(join(dir, 'junction.json'), JSON.stringify(source));
  writeFileSync(
    join(dir, 'junction.conf'),
    nginxConfig(validateConfig(source), {
      listen: `127.0.0.1:${routed}`,
      junction: junctionUrl,
      source: 'file junction.json',
    }),
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    nginxMainConfig(
      dir,
      'proxy',
      `  upstream plain_upstream { server 127.0.0.1:${up1}; keepalive 64; }
  server {
    listen 127.0.0.1:${plain};
    location / { proxy_pass http://plain_upstream; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  include ${dir}/junction.conf;`,
    ),
  );
  const children = [
    startFixedUpstreams(dir, up1, up2),
    start('nginx', ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']),
    startJunctionServe({
      config: join(dir, 'junction.json'),
      port: junctionPort,
      data: join(dir, 'data'),
      args: ['--decision-log', join(dir, 'decisions.jsonl')],
    }),
  ];
  try {
    await Promise.all(
      [`http://127.0.0.1:${up1}/`, `http://127.0.0.1:${plain}/`, `${junctionUrl}/healthz`].map(waitFor),
    );
    const jc = await JunctionClient.connect({ url: junctionUrl, exposures: false });
    try {
      // 2. SDK invoke added latency over direct (sequential, interleaved).
      const lat = await invokeLatency(jc, 'continue-watching-ranking', `http://127.0.0.1:${up1}/score`, seconds * 400);
      rows.push({
        measure: 'direct call, c=1',
        value: `p50 ${lat.direct.p50.toFixed(3)} ms, p99 ${lat.direct.p99.toFixed(3)} ms`,
      });
      rows.push({
        measure: 'SDK invoke, c=1',
        value: `p50 ${lat.sdk.p50.toFixed(3)} ms, p99 ${lat.sdk.p99.toFixed(3)} ms`,
        'vs target': `+${(lat.sdk.p50 - lat.direct.p50).toFixed(3)} ms p50, +${(lat.sdk.p99 - lat.direct.p99).toFixed(3)} ms p99 over direct`,
      });

      // 3. Throughput: the same SDK-decided requests through plain nginx, nginx on the header, and Junction.
      const decisions = Array.from({ length: 5000 }, (_, i) => {
        const unit = `user-${i}`;
        return { unit, target: jc.decide('continue-watching-ranking', { unit, expose: false }).routingKey };
      });
      const path = '/v1/objectives/continue-watching-ranking';
      writeFileSync(join(dir, 'decided.lua'), decidedScript(decisions, path));
      const lua = join(dir, 'decided.lua');
      const runs: Array<[string, string]> = [
        ['nginx, no routing', `http://127.0.0.1:${plain}${path}`],
        ['nginx on x-junction-target (exported)', `http://127.0.0.1:${routed}${path}`],
        ['Junction in the path', `${junctionUrl}${path}`],
      ];
      for (const [, url] of runs) wrk(url, { connections: 8, seconds: 1, luaFile: lua });
      // Two interleaved rounds, the better of each kept: a shared machine's noise hits every target alike.
      const load = new Map<string, LoadResult>();
      for (let round = 0; round < 2; round++) {
        for (const [name, url] of runs) {
          const l = wrk(url, { connections: 64, seconds, luaFile: lua });
          if (!load.has(name) || l.rps > load.get(name)!.rps) load.set(name, l);
        }
      }
      const base = load.get('nginx, no routing')!.rps;
      for (const [name] of runs) {
        const l = load.get(name)!;
        rows.push({
          measure: `${name}, c=64`,
          value: `${Math.round(l.rps)} rps, p99 ${l.p99ms.toFixed(3)} ms${l.errors ? `, ${l.errors} errors` : ''}`,
          'vs target':
            name === 'nginx, no routing'
              ? ''
              : `${(l.rps / base).toFixed(2)}× nginx without routing${name.startsWith('nginx on') ? ' (target ≥ 0.9)' : ''}`,
        });
      }
    } finally {
      await jc.close();
    }
  } finally {
    stop(children);
  }
  return {
    name: `decisions out of the path (SDK, nginx on x-junction-target; wrk ${seconds}s, one nginx worker, one Junction worker)`,
    rows,
    notes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchEdge({ seconds: Number(process.argv[2] ?? 5) }));
}
