// The cost of publishing the fleet's traffic (SPEC §19, issue 28 item 6), side
// by side in one run: three Junction processes on one PostgreSQL store (SQLite
// without one), the same config and upstream, that differ only in how often
// they publish their traffic slots: never after the first (off), every 2 s
// (the default) and every 50 ms (40 times the default, to show what the
// publish itself would cost if it cost anything). wrk alternates between them
// so drift on a shared machine hits all alike. Reported: throughput and
// latency ratios to "off", CPU per request of each Junction process (from
// /proc: a ratio of throughputs on a shared machine also measures who got
// scheduled), and the publishes each made per second (bounded whatever the traffic).
//
//   npx tsx bench/fleet.ts
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchSection } from './report.js';
import { compiled, cpuMs, freePort, has, start, stop, waitFor, wrk, wrkPostScript, type LoadResult } from './tools.js';

const self = fileURLToPath(import.meta.url);

const UPSTREAM = `
const http = require('node:http');
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"scores":[0.91,0.42,0.17]}'); });
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

const VARIANTS: Array<[string, number]> = [
  ['off', 2e9],
  ['every 2 s (default)', 2000],
  ['every 50 ms', 50],
];

export interface FleetBenchOptions {
  seconds?: number;
  connections?: number;
  rounds?: number;
}

export async function benchFleetTraffic(opts: FleetBenchOptions = {}): Promise<BenchSection> {
  const name = 'Fleet traffic publishing (off vs every 2 s vs every 50 ms, same run)';
  if (!has('wrk')) return { name, rows: [], notes: ['skipped: needs wrk (apt-get install -y wrk)'] };
  const seconds = opts.seconds ?? 3;
  const connections = opts.connections ?? 32;
  const rounds = opts.rounds ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'junction-fleet-bench-'));
  const { postgresSkipReason, storeUrl, uniqueSchema, dropSchema } = await import('../test/support/postgres.js');
  const pgOk = (await postgresSkipReason().catch(() => 'absent')) === undefined;
  const schema = uniqueSchema('jfleetbench');
  const store = pgOk ? storeUrl(schema) : `sqlite:${join(dir, 'data')}`;
  const upPort = await freePort();
  const ports = await Promise.all(VARIANTS.map(() => freePort()));
  const upstream = `http://127.0.0.1:${upPort}/score`;
  const children = [start(process.execPath, ['-e', UPSTREAM, String(upPort)])];
  // Plain JavaScript, run with bare node as Junction runs from dist/ (a tsx loader slows a proxy measurably).
  const bin = compiled(self, '.cache'); // one folder below the root, as src/ is: Junction finds its package.json
  try {
    await waitFor(`http://127.0.0.1:${upPort}/`);
    // One at a time: the first seeds the empty store, the others find its revision.
    for (const [i, [, publishMs]] of VARIANTS.entries()) {
      children.push(start(process.execPath, [bin, 'junction', String(ports[i]), upstream, store, String(publishMs)]));
      await up(`http://127.0.0.1:${ports[i]}/healthz`, children.at(-1)!);
    }
    const lua = join(dir, 'post.lua');
    writeFileSync(lua, wrkPostScript());
    const path = '/v1/objectives/continue-watching-ranking';
    const urls = ports.map((p) => `http://127.0.0.1:${p}${path}`);
    for (const url of urls) wrk(url, { connections: 8, seconds: 1, luaFile: lua }); // warm-up
    const results = VARIANTS.map(() => ({ runs: [] as LoadResult[], cpu: 0 }));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const i of order) {
        const pid = children[i + 1]!.pid;
        const before = cpuMs(pid) ?? 0;
        results[i]!.runs.push(wrk(urls[i]!, { connections, seconds, luaFile: lua }));
        results[i]!.cpu += (cpuMs(pid) ?? 0) - before;
      }
    }
    const publishes = pgOk ? await publishRates(store) : new Map<number, number>();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = results.map(({ runs, cpu }) => ({
      rps: mean(runs.map((x) => x.rps)),
      p50: mean(runs.map((x) => x.p50ms)),
      p99: mean(runs.map((x) => x.p99ms)),
      requests: runs.reduce((a, x) => a + x.requests, 0),
      errors: runs.reduce((a, x) => a + x.errors, 0),
      cpuUs:
        (cpu * 1000) /
        Math.max(
          1,
          runs.reduce((a, x) => a + x.requests, 0),
        ),
    }));
    const off = summary[0]!;
    const rows = summary.map((s, i) => ({
      publishing: VARIANTS[i]![0],
      [`rps (c=${connections})`]: Math.round(s.rps),
      'rps ÷ off': (s.rps / off.rps).toFixed(3),
      'p50 ms': s.p50.toFixed(3),
      'p99 ms': s.p99.toFixed(3),
      'CPU µs/request': s.cpuUs.toFixed(1),
      'CPU ÷ off': (s.cpuUs / off.cpuUs).toFixed(3),
      'publishes/s': publishes.get(VARIANTS[i]![1])?.toFixed(2) ?? 'n/a',
      errors: s.errors,
    }));
    return {
      name: `${name} (wrk, ${rounds} × ${seconds}s each, alternating)`,
      rows,
      notes: [
        `store: ${pgOk ? 'PostgreSQL (one schema shared by the three processes)' : 'SQLite (PostgreSQL not reachable)'}`,
        `throughput with the default publishing: ${(summary[1]!.rps / off.rps).toFixed(3)}× of off; CPU per request ${(summary[1]!.cpuUs / off.cpuUs).toFixed(3)}× of off`,
        `throughput publishing every 50 ms: ${(summary[2]!.rps / off.rps).toFixed(3)}× of off; CPU per request ${(summary[2]!.cpuUs / off.cpuUs).toFixed(3)}× of off`,
        'every variant counts its traffic slots the same way on the request path (one Map lookup and a few increments); what differs is the publish off it',
        "each Junction, the upstream and wrk are separate processes sharing this machine's cores",
      ],
    };
  } finally {
    stop(children);
    rmSync(dir, { recursive: true, force: true });
    if (pgOk) await dropSchema(schema).catch(() => undefined);
  }
}

/** Polls until the Junction answers (60 s: tsx compiles the sources first, slowly on a busy machine). */
async function up(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Junction for ${url} exited with ${child.exitCode}`);
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not come up in 60 s`);
      await sleep(100);
    }
  }
}

/** Publishes per second of each process, from the store's heartbeat rows: keyed by publish interval (read from seq ÷ uptime). */
async function publishRates(url: string): Promise<Map<number, number>> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema')!;
  u.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ seq: string; up_ms: string }>(
      `SELECT seq, (extract(epoch FROM now()) * 1000)::bigint - started_at AS up_ms FROM "${schema}".fleet_processes`,
    );
    // Each process's rate, matched to its variant by order of magnitude (off ≈ 0, default ≈ 0.5, fast ≈ 20).
    const out = new Map<number, number>();
    for (const r of rows) {
      const rate = Number(r.seq) / (Number(r.up_ms) / 1000);
      const variant = rate < 0.1 ? 2e9 : rate < 5 ? 2000 : 50;
      out.set(variant, rate);
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Child mode: one Junction publishing every `publishMs`. */
async function junction(port: string, upstream: string, store: string, publishMs: string): Promise<void> {
  const { startJunction } = await import('../src/app.js');
  const backend = { type: 'http', endpoints: [upstream] };
  const j = await startJunction({
    port: Number(port),
    config: {
      models: { ranker: { class: 'scorer', versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        'continue-watching-ranking': {
          default: 'ranker@6',
          experiments: [
            {
              id: 'cw-42',
              population: 1,
              cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
            },
          ],
        },
      },
    },
    control: {
      ...(store.startsWith('sqlite:') ? { data: store.slice('sqlite:'.length) } : { store }),
      fleet: { publishMs: Number(publishMs) },
    },
    log: { error() {}, warn() {}, info() {} },
  });
  process.once('SIGTERM', () => void j.close().then(() => process.exit(0)));
}

if (process.argv[2] === 'junction') {
  const [port, upstream, store, publishMs] = process.argv.slice(3) as [string, string, string, string];
  await junction(port, upstream, store, publishMs);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchFleetTraffic());
}
