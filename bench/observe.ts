// The cost of observability, side by side in one run: the same Junction config
// served by two in-process Junctions, one with everything on (metrics, tracing
// with a real SDK and batch processor, decision log to a file at sample 1.0,
// access log to a file) and one with everything off. wrk alternates between
// them so drift on a shared machine hits both alike. The upstream is a
// separate Node.js process answering a fixed body.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { observabilityCosts } from './observe-costs.js';
import type { BenchSection } from './report.js';
import { freePort, has, start, stop, waitFor, wrk, type LoadResult, wrkPostScript } from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const UPSTREAM = `
const http = require('node:http');
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"scores":[0.91,0.42,0.17]}'); });
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

export interface ObserveBenchOptions {
  seconds?: number;
  connections?: number;
  rounds?: number;
}

export async function benchObservability(opts: ObserveBenchOptions = {}): Promise<BenchSection> {
  const name = 'Observability cost (all on vs all off, same run)';
  if (!has('wrk')) return { name, rows: [], notes: ['skipped: needs wrk (apt-get install -y wrk)'] };
  const seconds = opts.seconds ?? 3;
  const connections = opts.connections ?? 32;
  const rounds = opts.rounds ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'junction-observe-bench-'));
  const [upPort, offPort, servePort, onPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const upstreamUrl = `http://127.0.0.1:${upPort}/score`;
  const junction = (port: number, mode: string) =>
    start(process.execPath, [
      '--import',
      'tsx',
      join(root, 'bench/observe-junction.ts'),
      String(port),
      upstreamUrl,
      mode,
      dir,
    ]);
  const children = [
    start(process.execPath, ['-e', UPSTREAM, String(upPort)]),
    junction(offPort, 'off'),
    junction(servePort, 'serve'),
    junction(onPort, 'on'),
  ];
  try {
    await Promise.all(
      [`http://127.0.0.1:${upPort}/`, ...[offPort, servePort, onPort].map((p) => `http://127.0.0.1:${p}/healthz`)].map(
        waitFor,
      ),
    );
    const lua = join(dir, 'post.lua');
    writeFileSync(lua, wrkPostScript({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    const path = '/v1/objectives/continue-watching-ranking';
    const variants: Array<[string, string]> = [
      ['all off', `http://127.0.0.1:${offPort}`],
      ['metrics + decision log', `http://127.0.0.1:${servePort}`],
      ['all on', `http://127.0.0.1:${onPort}`],
    ];
    for (const [, url] of variants) wrk(url + path, { connections: 8, seconds: 1, luaFile: lua }); // warm-up
    const results = new Map<string, LoadResult[]>(variants.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [n, url] of r % 2 === 0 ? variants : [...variants].reverse()) {
        results.get(n)!.push(wrk(url + path, { connections, seconds, luaFile: lua }));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = new Map(
      [...results].map(([n, rs]) => [
        n,
        {
          rps: mean(rs.map((x) => x.rps)),
          p50: mean(rs.map((x) => x.p50ms)),
          p99: mean(rs.map((x) => x.p99ms)),
          errors: rs.reduce((a, x) => a + x.errors, 0),
        },
      ]),
    );
    const rows = [...summary].map(([n, s]) => ({
      variant: n,
      [`rps (c=${connections})`]: Math.round(s.rps),
      'p50 ms': s.p50.toFixed(3),
      'p99 ms': s.p99.toFixed(3),
      errors: s.errors,
    }));
    const onS = summary.get('all on')!;
    const serveS = summary.get('metrics + decision log')!;
    const offS = summary.get('all off')!;
    const logged = readFileSync(join(dir, 'decisions-on.jsonl'), 'utf8').split('\n').length - 1;
    const costs = await observabilityCosts();
    return {
      name: `${name} (wrk, ${rounds} × ${seconds}s each, alternating)`,
      rows,
      notes: [
        `throughput with metrics + decision log (serve's default with --decision-log): ${(serveS.rps / offS.rps).toFixed(2)}× of all off`,
        `throughput with all observability on: ${(onS.rps / offS.rps).toFixed(2)}× of all off`,
        `per-request cost of observability at c=${connections}: ${((1 / onS.rps - 1 / offS.rps) * 1e6).toFixed(1)} µs of serial time`,
        `on = metrics + process metrics + tracing (real SDK, BatchSpanProcessor, discarding exporter) + decision log (sample 1.0, file: ${logged} lines) + access log (file)`,
        "each Junction, the upstream and wrk are separate processes sharing this machine's cores",
        ...costs.map(
          ([what, us]) =>
            `CPU per request, in-process: ${what}: ${us < 0.5 ? '< 0.5 (within noise)' : us.toFixed(2)} µs`,
        ),
      ],
    };
  } finally {
    stop(children);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchObservability());
}
