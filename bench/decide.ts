// In-process routing rate: decisions per second with 1 and with 1,000
// objectives loaded, for a request that walks rules, an experiment and a rollout.
import { performance } from 'node:perf_hooks';
import { validateConfig } from '../src/config/load.js';
import { compileRouting } from '../src/routing/compile.js';
import { decide } from '../src/routing/decide.js';
import type { RoutingRequest } from '../src/routing/types.js';
import type { BenchSection } from './report.js';

export function benchConfig(objectives: number, rulesPerObjective = 10): unknown {
  const http = (p: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${p}`] } });
  const objs: Record<string, unknown> = {};
  for (let i = 0; i < objectives; i++) {
    objs[`objective-${i}`] = {
      default: 'ranker@6',
      rules: Array.from({ length: rulesPerObjective }, (_, r) => ({
        when: { context: { country: [`C${r}`], device: ['tv'] } },
        use: 'ranker@7',
      })),
      experiments: [
        {
          id: `exp-${i}`,
          population: 0.5,
          cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
        },
      ],
      rollout: { candidate: 'ranker@8', percent: 20 },
    };
  }
  return { models: { ranker: { versions: { '6': http(1), '7': http(2), '8': http(3) } } }, objectives: objs };
}

function rate(objectives: number, seconds: number): number {
  const table = compileRouting(validateConfig(benchConfig(objectives)), 1);
  const names = [...table.objectives.keys()];
  const units = Array.from({ length: 4096 }, (_, i) => `user-${i}`);
  const reqs: RoutingRequest[] = units.map((unit) => ({
    unit,
    context: { country: 'US', device: 'tv' },
    trafficClass: 'live',
  }));
  let n = 0;
  let sink = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++, n++) {
      const o = table.objectives.get(names[n % names.length]!)!;
      sink += decide(table, o, reqs[n & 4095]!).revision;
    }
  }
  if (sink === -1) console.log(sink);
  return n / seconds;
}

export async function benchDecide(seconds = 2): Promise<BenchSection> {
  rate(1, 0.3); // warm up the JIT
  const one = rate(1, seconds);
  const thousand = rate(1000, seconds);
  return {
    name: 'decide (in-process, one core)',
    rows: [
      { objectives: 1, 'decisions/s': Math.round(one) },
      { objectives: 1000, 'decisions/s': Math.round(thousand), 'ratio to 1': +(thousand / one).toFixed(2) },
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchDecide());
}
