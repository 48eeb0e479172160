// `npm run bench`: every benchmark in one run on one machine, printed as
// ratios. `--write` also saves the report to docs/bench-results.md.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { httpChart } from './chart.js';
import { benchConsole } from './console.js';
import { benchControl } from './control.js';
import { benchDecide } from './decide.js';
import { benchEdge } from './edge.js';
import { benchGrpc } from './grpc.js';
import { benchHttp } from './http.js';
import { benchMemory } from './memory.js';
import { benchObservability } from './observe.js';
import { benchOnnx } from './onnx.js';
import { benchPick } from './pick.js';
import { benchReadout } from './readout.js';
import { formatSection, type BenchSection } from './report.js';
import { benchTokens } from './tokens.js';

type Bench = () => Promise<BenchSection>;

const quick = process.argv.includes('--quick');
const benches: Array<[string, Bench]> = [
  ['decide', () => benchDecide(quick ? 1 : 2)],
  ['pick', () => Promise.resolve(benchPick(quick ? 200_000 : 1_000_000))],
  ['http', () => benchHttp({ seconds: quick ? 2 : 5, rounds: quick ? 3 : 9, roundSeconds: quick ? 1 : 3 })],
  ['edge', () => benchEdge({ seconds: quick ? 2 : 5 })],
  ['memory', benchMemory],
  ['onnx', benchOnnx],
  ['grpc', () => benchGrpc(quick ? 0.5 : 1.5)],
  ['observability', benchObservability],
  ['tokens', () => benchTokens(quick ? 200 : 400)],
  ['control', benchControl],
  ['console', () => benchConsole(quick)],
  ['readout', () => benchReadout(quick ? 1_000_000 : 10_000_000)],
];

const header = [
  '# Junction benchmark report',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`,
  '',
].join('\n');
let report = header;
console.log(header);
let httpSection: BenchSection | undefined;
for (const [name, bench] of benches) {
  const section = await bench().catch((err: Error) => ({ name, rows: [], notes: [`failed: ${err.message}`] }));
  if (name === 'http') httpSection = section;
  const text = formatSection(section);
  console.log(text);
  report += `${text}\n`;
}
if (process.argv.includes('--write')) {
  writeFileSync(
    new URL('../docs/bench-results.md', import.meta.url),
    `${report}\n![throughput and latency](bench-chart.svg)\n`,
  );
  if (httpSection && httpSection.rows.length > 0)
    writeFileSync(new URL('../docs/bench-chart.svg', import.meta.url), httpChart(httpSection));
  console.log('wrote docs/bench-results.md and docs/bench-chart.svg');
}
