// Readouts on the serving process (issue 22, finding 9): a ~400 MB decision log
// and its feedback log, a real `junction serve` writing to them, then 8
// concurrent GET /admin/experiments/{id}/results while a fixed-rate load runs
// on the data plane. Reports the server's RSS before / peak / after and the
// data plane's p50/p99 without and with readouts running, and what each of the
// 8 readouts answered (200, or 503 overloaded past the queue bound).
//   npx tsx bench/readout-memory.ts [decision lines, default 1,100,000]
import { readFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { spawnJunction } from '../test/support/junction-process.js';
import { startUpstream } from '../test/support/upstream.js';
import { fixedRate } from './fixed-rate.js';
import { generate } from './readout.js';

/** RSS of a process in MB, from /proc (Linux), including its children's threads (DuckDB runs in-process). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const lines = Number(process.argv[2] ?? 1_100_000);
const rps = Number(process.env.RPS ?? 200);
const seconds = Number(process.env.SECONDS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'junction-readout-mem-'));
const upstream = await startUpstream('ranker');
try {
  const t0 = performance.now();
  const files = await generate(dir, lines, Number(process.env.EVERY ?? 1));
  console.log(
    `generated ${lines} decision lines (${(statSync(files.decisions).size / 2 ** 20).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  const backend = { type: 'http', endpoints: [upstream.url] };
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: { ranker: { versions: { '7': { backend } } } },
      objectives: {
        'continue-watching-ranking': {
          default: 'ranker@7',
          experiments: [
            {
              id: 'bench-exp',
              population: 1,
              cells: Object.fromEntries([0, 1, 2, 3].map((i) => [`cell-${i}`, { weight: 25, use: 'ranker@7' }])),
            },
          ],
        },
      },
    }),
  );
  const j = await spawnJunction([
    'serve',
    '--config',
    config,
    '--port',
    '0',
    '--admin-port',
    '0',
    '--insecure-admin',
    '--data',
    join(dir, 'data'),
    '--decision-log',
    files.decisions,
    '--feedback-log',
    files.feedback,
  ]);
  const pid = j.child.pid!;
  try {
    const invoke = `${j.url}/v1/objectives/continue-watching-ranking`;
    const body = JSON.stringify({ inputs: [] });
    await fixedRate(invoke, rps, 3, body, {}); // warm up
    const idle = await fixedRate(invoke, rps, seconds, body, {});
    const before = rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 50);
    const started = performance.now();
    const readouts = Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        // DISTINCT=1: eight different experiment ids (seven unknown, each still a full scan), so none can share a run.
        const id = process.env.DISTINCT === '1' && i > 0 ? `bench-exp-${i}` : 'bench-exp';
        const res = await request(`${j.adminUrl}/admin/experiments/${id}/results`);
        const text = await res.body.text();
        return {
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          retryAfter: res.headers['retry-after'],
          note: res.statusCode === 200 ? '' : text.slice(0, 160),
        };
      }),
    );
    const busy = await fixedRate(invoke, rps, seconds, body, {});
    const answers = await readouts;
    const readoutsMs = performance.now() - started;
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssMb(pid);
    console.log(
      JSON.stringify(
        {
          lines,
          rps,
          seconds,
          rssMb: { before: Math.round(before), peak: Math.round(peak), after: Math.round(after) },
          readouts: answers,
          readoutsSeconds: +(readoutsMs / 1000).toFixed(1),
          servingWithoutReadouts: idle,
          servingWithReadouts: busy,
        },
        null,
        2,
      ),
    );
  } finally {
    await j.stop();
  }
} finally {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
}
