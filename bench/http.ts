// Proxy overhead, side by side in one run: direct to the upstream, nginx doing
// the same weighted split (split_clients), a bare Node.js proxy, and Junction
// (routing on; one worker each). Upstreams are nginx returning a fixed body,
// so the upstream costs little CPU; all processes share this machine's cores.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixedRateResult } from './fixed-rate.js';
import type { BenchSection } from './report.js';
import {
  compiled,
  cpuMs,
  freePort,
  has,
  nginxMainConfig,
  start,
  startFixedUpstreams,
  startJunctionServe,
  stop,
  waitFor,
  wrk,
  wrkPostScript,
  type LoadResult,
} from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface HttpBenchOptions {
  /** Seconds of the c=1 and fixed-rate latency runs (throughput: `roundSeconds`). */
  seconds?: number;
  connections?: number;
  /** Extra `serve` flags for Junction; default: the decision log on (metrics are always on). */
  junctionArgs?: string[];
  /** Requests per second for the fixed-rate latency run. */
  rate?: number;
  /** Interleaved throughput rounds (default 9): each target once a round, the order reversed every other round. */
  rounds?: number;
  /** Seconds of each throughput round (default 3). */
  roundSeconds?: number;
}

export async function benchHttp(opts: HttpBenchOptions = {}): Promise<BenchSection> {
  if (!has('wrk') || !has('nginx')) {
    return {
      name: 'HTTP proxy overhead',
      rows: [],
      notes: ['skipped: needs wrk and nginx (apt-get install -y wrk nginx-light)'],
    };
  }
  const seconds = opts.seconds ?? 5;
  const connections = opts.connections ?? 64;
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-'));
  const [up1, up2, nginxProxy, bare, junction, junctionW] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);

  writeFileSync(
    join(dir, 'nginx.conf'),
    nginxMainConfig(
      dir,
      'proxy',
      `  upstream v6 { server 127.0.0.1:${up1}; keepalive 128; }
  upstream v7 { server 127.0.0.1:${up2}; keepalive 128; }
  split_clients "\${http_x_unit_id}\${request_id}" $variant { 50% v6; * v7; }
  server {
    listen 127.0.0.1:${nginxProxy};
    location / { proxy_pass http://$variant; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    ),
  );
  writeFileSync(
    join(dir, 'junction.yaml'),
    `
models:
  ranker:
    class: scorer
    versions:
      "6": { backend: { type: http, endpoints: ["http://127.0.0.1:${up1}/score"] } }
      "7": { backend: { type: http, endpoints: ["http://127.0.0.1:${up2}/score"] } }
objectives:
  continue-watching-ranking:
    default: ranker@6
    rules:
      - { when: { context: { country: [BR, MX] } }, use: ranker@7 }
    experiments:
      - id: cw-42
        population: 1
        cells: { A: { weight: 50, use: ranker@6 }, B: { weight: 50, use: ranker@7 } }
`,
  );
  writeFileSync(join(dir, 'post.lua'), wrkPostScript());
  const children = [
    startFixedUpstreams(dir, up1, up2),
    start('nginx', ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']),
    start(process.execPath, [
      compiled(join(root, 'bench/bare-proxy.ts')),
      String(bare),
      `http://127.0.0.1:${up1}`,
      `http://127.0.0.1:${up2}`,
    ]),
    startJunctionServe({
      config: join(dir, 'junction.yaml'),
      port: junction,
      data: join(dir, 'data'),
      args: opts.junctionArgs ?? ['--decision-log', join(dir, 'decisions.jsonl')],
    }),
    // The same with --workers 1, which is the single-process default (a primary and its
    // workers start only from 2): the same configuration started twice, so the two rows
    // also show this machine's run-to-run spread within one run.
    startJunctionServe({
      config: join(dir, 'junction.yaml'),
      port: junctionW,
      data: join(dir, 'data-w'),
      args: ['--workers', '1', ...(opts.junctionArgs ?? ['--decision-log', join(dir, 'decisions-w.jsonl')])],
    }),
  ];
  try {
    await Promise.all(
      [
        `http://127.0.0.1:${up1}/`,
        `http://127.0.0.1:${nginxProxy}/`,
        `http://127.0.0.1:${bare}/`,
        `http://127.0.0.1:${junction}/healthz`,
        `http://127.0.0.1:${junctionW}/healthz`,
      ].map(waitFor),
    );
    const lua = join(dir, 'post.lua');
    const targets: Array<[string, string]> = [
      ['direct', `http://127.0.0.1:${up1}/score`],
      ['nginx split', `http://127.0.0.1:${nginxProxy}/score`],
      ['bare node proxy', `http://127.0.0.1:${bare}/score`],
      ['junction', `http://127.0.0.1:${junction}/v1/objectives/continue-watching-ranking`],
      ['junction again (--workers 1)', `http://127.0.0.1:${junctionW}/v1/objectives/continue-watching-ranking`],
    ];
    // Warm up every process (JIT, pools) before measuring.
    for (const [, url] of targets) wrk(url, { connections: 8, seconds: 1, luaFile: lua });
    const serial = new Map<string, LoadResult>();
    // Throughput in interleaved rounds. On a shared 2-vCPU machine one target's throughput
    // moves by ±20 % from one round to the next, so a comparison is made within a round
    // (targets seconds apart) and summarised over many: the median of the per-round ratios,
    // with their range. Every other round runs in reverse order, so a drift during a round
    // favours no target.
    const rounds = opts.rounds ?? 9;
    const perRound = new Map<string, LoadResult[]>(targets.map(([name]) => [name, []]));
    // The Node.js proxies' CPU per request in each round (µs): what a target costs, whoever got scheduled.
    const pids = new Map([
      ['bare node proxy', children[2]!.pid],
      ['junction', children[3]!.pid],
      ['junction again (--workers 1)', children[4]!.pid],
    ]);
    const cpuPerRound = new Map<string, number[]>([...pids.keys()].map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const [name, url] of order) {
        const cpuBefore = cpuMs(pids.get(name));
        const run = wrk(url, { connections, seconds: opts.roundSeconds ?? 3, luaFile: lua });
        perRound.get(name)!.push(run);
        const cpuAfter = cpuMs(pids.get(name));
        if (cpuBefore !== undefined && cpuAfter !== undefined && run.requests > 0) {
          cpuPerRound.get(name)!.push(((cpuAfter - cpuBefore) * 1000) / run.requests);
        }
      }
    }
    /** Median CPU µs a request of a Node.js proxy, and its ratio to the floor's (cost, so lower is better). */
    const cpuNote = (): string => {
      const median = (name: string) => {
        const xs = cpuPerRound.get(name)!;
        return xs.length === 0 ? NaN : medianBy(xs, (x) => x);
      };
      const floor = median('bare node proxy');
      if (Number.isNaN(floor)) return 'CPU per request: not measured (needs /proc)';
      const of = (name: string) =>
        `${median(name).toFixed(1)} µs (${(floor / median(name)).toFixed(2)}× the floor's efficiency)`;
      return `CPU per request, median of rounds (all threads, /proc): bare node proxy ${floor.toFixed(1)} µs, junction ${of('junction')}, again ${of('junction again (--workers 1)')}`;
    };
    /** Each target's round of median throughput (its latencies go with it). */
    const load = new Map([...perRound].map(([name, runs]) => [name, medianBy(runs, (r) => r.rps)]));
    /** Per-round ratio of two targets: the median, and the range over all rounds. */
    const ratio = (a: string, b: string): string => {
      const rs = perRound.get(a)!.map((r, i) => r.rps / perRound.get(b)![i]!.rps);
      const sorted = [...rs].sort((x, y) => x - y);
      return `${medianBy(sorted, (x) => x).toFixed(2)}× (rounds ${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)})`;
    };
    for (const [name, url] of targets) {
      serial.set(name, wrk(url, { connections: 1, seconds: Math.max(2, Math.round(seconds / 2)), luaFile: lua }));
    }
    // Added latency at a fixed, moderate rate (open loop, its own process).
    const rate = opts.rate ?? 1000;
    const fixed = new Map<string, FixedRateResult>();
    for (const [name, url] of targets) {
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(root, 'bench/fixed-rate.ts'), url, String(rate), String(Math.max(3, seconds))],
        { encoding: 'utf8' },
      );
      fixed.set(name, JSON.parse(out.stdout.trim().split('\n').pop()!) as FixedRateResult);
    }
    const d1 = serial.get('direct')!;
    const rows = targets.map(([name]) => {
      const l = load.get(name)!;
      const s = serial.get(name)!;
      return {
        target: name,
        [`rps (c=${connections})`]: Math.round(l.rps),
        'p50 ms': l.p50ms.toFixed(3),
        'p99 ms': l.p99ms.toFixed(3),
        'c=1 p50 ms': s.p50ms.toFixed(3),
        'c=1 p99 ms': s.p99ms.toFixed(3),
        [`${rate}/s p50 ms`]: fixed.get(name)!.p50ms.toFixed(3),
        [`${rate}/s p99 ms`]: fixed.get(name)!.p99ms.toFixed(3),
        errors: l.errors + s.errors + fixed.get(name)!.errors,
      };
    });
    const js = serial.get('junction')!;
    const fj = fixed.get('junction')!;
    const fd = fixed.get('direct')!;
    return {
      name: `HTTP proxy overhead (wrk, median of ${rounds} interleaved rounds of ${opts.roundSeconds ?? 3}s, one worker each; Junction with routing, metrics and decision log)`,
      rows,
      notes: [
        `junction / nginx split throughput, median of per-round ratios: ${ratio('junction', 'nginx split')} (target ≥ 0.6)`,
        `junction / bare node proxy throughput, median of per-round ratios: ${ratio('junction', 'bare node proxy')} (target ≥ 0.9); the same configuration started again (--workers 1, the single-process default): ${ratio('junction again (--workers 1)', 'bare node proxy')}`,
        cpuNote(),
        `added latency at a fixed ${rate} req/s over direct: p50 +${(fj.p50ms - fd.p50ms).toFixed(3)} ms, p99 +${(fj.p99ms - fd.p99ms).toFixed(3)} ms (target ≤ 0.3 / ≤ 1)`,
        `added latency at c=1 (closed loop) over direct: p50 +${(js.p50ms - d1.p50ms).toFixed(3)} ms, p99 +${(js.p99ms - d1.p99ms).toFixed(3)} ms`,
      ],
    };
  } finally {
    stop(children);
  }
}

/** The element of median `key` (the upper one of an even count). */
function medianBy<T>(items: readonly T[], key: (t: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)]!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchHttp());
}
