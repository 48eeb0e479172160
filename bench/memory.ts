// Memory with 1,000 objectives and 10,000 rules loaded (SPEC §9: ≤ 150 MB RSS).
// Measured in a fresh Node process that starts a real Junction on the config,
// so the figure includes the runtime, the data plane and one built backend per target.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './decide.js';
import type { BenchSection } from './report.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const PROBE = `
import { startJunction } from ${JSON.stringify(join(root, 'dist/app.js'))};
const base = process.memoryUsage().rss;
const j = await startJunction({ configFile: process.argv[2], port: 0 });
globalThis.gc?.();
const m = process.memoryUsage();
console.log(JSON.stringify({ base, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, ab: m.arrayBuffers, objectives: j.runtime.current.objectives.size }));
await j.close();
`;

export async function benchMemory(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-mem-'));
  const rows = [];
  for (const [objectives, rules] of [
    [1, 10],
    [1000, 10],
  ] as const) {
    const file = join(dir, `c-${objectives}.json`);
    writeFileSync(file, JSON.stringify(benchConfig(objectives, rules)));
    writeFileSync(join(dir, 'probe.mjs'), PROBE);
    const out = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', join(dir, 'probe.mjs'), file], { encoding: 'utf8' }),
    ) as { base: number; rss: number; heapUsed: number };
    if (process.env.MEM_DEBUG) console.log(out);
    rows.push({
      objectives,
      rules: objectives * rules,
      'RSS MB': +(out.rss / 2 ** 20).toFixed(1),
      'heap used MB': +(out.heapUsed / 2 ** 20).toFixed(1),
      'RSS before config MB': +(out.base / 2 ** 20).toFixed(1),
    });
  }
  return {
    name: 'memory (fresh process, config loaded, after GC)',
    rows,
    notes: ['target: ≤ 150 MB RSS with 1,000 objectives and 10,000 rules'],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchMemory());
}
