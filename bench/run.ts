// `npm run bench`: every benchmark in one run on one machine, printed as
// ratios. `--write` also saves the report to docs/bench-results.md.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchDecide } from './decide.js';
import { benchHttp } from './http.js';
import { benchMemory } from './memory.js';
import { formatSection, type BenchSection } from './report.js';

type Bench = () => Promise<BenchSection>;

async function optional(module: string, name: string): Promise<Bench | undefined> {
  try {
    const m = await import(module) as Record<string, Bench>;
    return m[name];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

const quick = process.argv.includes('--quick');
const benches: Array<[string, Bench | undefined]> = [
  ['decide', () => benchDecide(quick ? 1 : 2)],
  ['http', () => benchHttp({ seconds: quick ? 2 : 5 })],
  ['memory', benchMemory],
  ['onnx', await optional('./onnx.js', 'benchOnnx')],
  ['observability', await optional('./observe.js', 'benchObservability')],
  ['control', await optional('./control.js', 'benchControl')],
];

const header = [
  '# Junction benchmark report', '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`,
  '',
].join('\n');
let report = header;
console.log(header);
for (const [name, bench] of benches) {
  if (!bench) continue;
  const section = await bench().catch((err: Error) => ({ name, rows: [], notes: [`failed: ${err.message}`] }));
  const text = formatSection(section);
  console.log(text);
  report += `${text}\n`;
}
if (process.argv.includes('--write')) {
  writeFileSync(new URL('../docs/bench-results.md', import.meta.url), report);
  console.log('wrote docs/bench-results.md');
}
