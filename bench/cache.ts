// A response cache hit's throughput against the bare Node.js proxy (SPEC §16:
// ≥ 0.9×), in one interleaved run: the proxy forwards every call to a fixed
// nginx upstream; Junction routes each call (an A/B experiment over 5,000
// units), answers it from its cache (after the first call of each cell) and
// writes its decision log line and metrics. Hits skip the upstream, so this
// is the cost of Junction's own path (admission, routing, key, record), not
// of a proxy hop; `direct` (the upstream alone) is the ceiling of either.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './report.js';
import {
  compiled,
  freePort,
  has,
  start,
  startFixedUpstreams,
  stop,
  waitFor,
  wrk,
  wrkPostScript,
  type LoadResult,
} from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface CacheBenchOptions {
  /** Interleaved throughput rounds (default 9), the order reversed every other round. */
  rounds?: number;
  /** Seconds of each round (default 3). */
  roundSeconds?: number;
  connections?: number;
}

export async function benchCache(opts: CacheBenchOptions = {}): Promise<BenchSection> {
  const name = 'Response cache hit vs the bare Node.js proxy';
  if (!has('wrk') || !has('nginx')) {
    return { name, rows: [], notes: ['skipped: needs wrk and nginx (apt-get install -y wrk nginx-light)'] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-cache-'));
  const [up1, up2, bare, junction] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(
    join(dir, 'junction.yaml'),
    `
models:
  ranker:
    versions:
      "6": { backend: { type: http, endpoints: ["http://127.0.0.1:${up1}/score"] } }
      "7": { backend: { type: http, endpoints: ["http://127.0.0.1:${up2}/score"] } }
objectives:
  continue-watching-ranking:
    default: ranker@6
    experiments:
      - id: cw-42
        population: 1
        cells: { A: { weight: 50, use: ranker@6 }, B: { weight: 50, use: ranker@7 } }
    cache: { ttlSeconds: 3600, cacheable: true }
`,
  );
  const lua = join(dir, 'post.lua');
  writeFileSync(lua, wrkPostScript());
  const children = [
    startFixedUpstreams(dir, up1, up2),
    start(process.execPath, [
      compiled(join(root, 'bench/bare-proxy.ts')),
      String(bare),
      `http://127.0.0.1:${up1}`,
      `http://127.0.0.1:${up2}`,
    ]),
    start(process.execPath, [
      junctionScript(),
      String(junction),
      join(dir, 'junction.yaml'),
      join(dir, 'decisions.jsonl'),
    ]),
  ];
  try {
    await Promise.all(
      [`http://127.0.0.1:${up1}/`, `http://127.0.0.1:${bare}/`, `http://127.0.0.1:${junction}/healthz`].map(waitFor),
    );
    const targets: Array<[string, string]> = [
      ['direct', `http://127.0.0.1:${up1}/score`],
      ['bare node proxy', `http://127.0.0.1:${bare}/score`],
      ['junction, cache hit', `http://127.0.0.1:${junction}/v1/objectives/continue-watching-ranking`],
    ];
    for (const [, url] of targets) wrk(url, { connections: 8, seconds: 1, luaFile: lua }); // warm up; fills the cache
    const connections = opts.connections ?? 64;
    const rounds = opts.rounds ?? 9;
    const perRound = new Map<string, LoadResult[]>(targets.map(([n]) => [n, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [n, url] of round % 2 === 0 ? targets : [...targets].reverse()) {
        perRound.get(n)!.push(wrk(url, { connections, seconds: opts.roundSeconds ?? 3, luaFile: lua }));
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratios = perRound
      .get('junction, cache hit')!
      .map((r, i) => r.rps / perRound.get('bare node proxy')![i]!.rps)
      .sort((x, y) => x - y);
    return {
      name: `${name} (wrk c=${connections}, median of ${rounds} interleaved rounds of ${opts.roundSeconds ?? 3}s; metrics and decision log on)`,
      rows: targets.map(([n]) => {
        const runs = perRound.get(n)!;
        const mid = [...runs].sort((x, y) => x.rps - y.rps)[Math.floor(runs.length / 2)]!;
        return {
          target: n,
          rps: Math.round(median(runs.map((r) => r.rps))),
          'p50 ms': mid.p50ms.toFixed(3),
          'p99 ms': mid.p99ms.toFixed(3),
          errors: runs.reduce((s, r) => s + r.errors, 0),
        };
      }),
      notes: [
        `junction cache hit / bare node proxy throughput, median of per-round ratios: ${median(ratios).toFixed(2)}× (rounds ${ratios[0]!.toFixed(2)}–${ratios.at(-1)!.toFixed(2)}) (target ≥ 0.9)`,
      ],
    };
  } finally {
    stop(children);
  }
}

/** bench/cache-junction.ts compiled directly under .cache/: Junction reads ../package.json next to its entry module (src/app.ts), so the bundle must sit one level below the root. */
function junctionScript(): string {
  return compiled(join(root, 'bench/cache-junction.ts'), '.cache');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  const quick = process.argv.includes('--quick');
  printSection(await benchCache(quick ? { rounds: 3, roundSeconds: 2 } : {}));
}
