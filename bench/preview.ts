// The change preview on a large decision log (SPEC §18: 1M logged decisions in
// ≤ 10 s): `lines` decision lines in the real line shape (as the decision log
// writes them: context, shadows, usage fields and all; 1 in 5 units without a
// unit id), with times in the last half hour, replayed by a real Junction's
// POST /admin/config/preview (?window=1h): read, time-filtered, parsed and
// decided twice per line. The proposed change moves an experiment's weights,
// raises a rollout and adds a rule, so every count is exercised. Generation is
// not timed. Alone: `npx tsx bench/preview.ts [lines]`.
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startJunction } from '../src/app.js';
import type { PreviewReport } from '../src/control/preview-types.js';
import type { BenchSection } from './report.js';

const COUNTRIES = ['US', 'BR', 'MX', 'DE', 'IN'];

function config(weightA: number, percent: number, extraRule = false) {
  const backend = (port: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${port}`] } });
  return {
    models: { ranker: { versions: { '6': backend(1), '7': backend(2), '8': backend(3) } } },
    objectives: {
      'continue-watching-ranking': {
        default: 'ranker@6',
        rules: [
          { id: 'latam', when: { context: { country: ['BR', 'MX'] } }, use: 'ranker@7' },
          ...(extraRule ? [{ id: 'de', when: { context: { country: 'DE' } }, use: 'ranker@8' }] : []),
        ],
        experiments: [
          {
            id: 'cw-42',
            population: 0.2,
            cells: { A: { weight: weightA, use: 'ranker@6' }, B: { weight: 100 - weightA, use: 'ranker@7' } },
          },
        ],
        rollout: { candidate: 'ranker@8', percent },
      },
    },
  };
}

/** Writes `lines` decision lines with times in the last 30 minutes, ~lines/5 distinct units. */
function generate(file: string, lines: number): void {
  const fd = openSync(file, 'w');
  const now = Date.now();
  const units = Math.max(1, Math.floor(lines / 5));
  let batch = '';
  for (let i = 0; i < lines; i++) {
    const time = new Date(now - 1_800_000 + Math.floor((i / lines) * 1_790_000)).toISOString();
    const unit = i % 5 === 4 ? 'null' : `"user-${(i * 7919) % units}"`;
    const country = COUNTRIES[i % COUNTRIES.length];
    batch +=
      `{"time":"${time}","requestId":"req-${i}","via":"invoke","objective":"continue-watching-ranking","unit":${unit}` +
      `,"context":{"country":"${country}"},"rule":"default","experiment":null,"cell":null,"target":"ranker@6","balance":null` +
      `,"revision":1,"client":"web","trafficClass":"live","status":200,"error":null,"latencyMs":12.345,"ttftMs":3.21` +
      `,"fallback":null,"shadows":[],"usage":null,"endpoint":"http://10.0.0.6:8000","pick":"p2c","cost":null,"currency":null` +
      `,"estimated":false,"cache":null}\n`;
    if (batch.length > 4_000_000) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
}

export async function benchPreview(lines: number): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-preview-bench-'));
  const file = join(dir, 'decisions.jsonl');
  try {
    generate(file, lines);
    const j = await startJunction({
      config: config(50, 5),
      port: 0,
      decisionLog: file,
      metrics: false,
      control: { data: ':memory:', admin: { port: 0, insecure: true } },
      log: { error() {}, warn() {}, info() {} },
    });
    try {
      const rounds: number[] = [];
      const cpu: number[] = [];
      let report: PreviewReport | undefined;
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        const res = await request(`${j.control!.adminUrl!}/admin/config/preview?window=1h`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(config(30, 10, true)),
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        });
        report = (await res.body.json()) as PreviewReport;
        rounds.push((performance.now() - started) / 1000);
        const used = process.cpuUsage(cpuBefore);
        cpu.push((used.user + used.system) / 1e6);
        if (res.statusCode !== 200) throw new Error(`preview answered ${res.statusCode}: ${JSON.stringify(report)}`);
      }
      const best = Math.min(...rounds);
      const o = report!.objectives[0]!;
      return {
        name: 'change preview (POST /admin/config/preview)',
        rows: [
          {
            'decision lines': report!.decisions,
            'log size MiB': (statSync(file).size / 2 ** 20).toFixed(0),
            'best of 3, s': best.toFixed(2),
            'median, s': [...rounds].sort((a, b) => a - b)[1]!.toFixed(2),
            'CPU s (best)': Math.min(...cpu).toFixed(2),
            'lines/s': Math.round(report!.decisions / best),
            units: o.units,
            'units changed': o.changedUnits,
            'experiment units broken': report!.breaks[0]?.units ?? 0,
          },
        ],
        notes: [
          `target: 1M logged decisions in ≤ 10 s; ${lines.toLocaleString('en-US')} here, read, parsed and decided twice each on one thread`,
          `load average while measured: ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores (CPU seconds are the process's own: the figure a quiet machine would show)`,
          'the log is generated with times in the last 30 minutes (generation not timed); Junction holds no connection to the targets',
        ],
      };
    } finally {
      await j.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchPreview(Number(process.argv[2] ?? 1_000_000)));
}
