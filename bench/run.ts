// `npm run bench`: every benchmark in one run on one machine, printed as
// ratios. `--write` also saves the report to docs/bench-results.md.
// `--fleet` adds the simulated LLM fleet (bench/llm-fleet, ~10 minutes; alone:
// `npx tsx bench/llm-fleet/run.ts`); without it `--write` keeps the fleet
// section already in docs/bench-results.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { httpChart } from './chart.js';
import { benchCache } from './cache.js';
import { benchConsole } from './console.js';
import { benchControl } from './control.js';
import { benchDecide } from './decide.js';
import { benchEdge } from './edge.js';
import { benchGrpc } from './grpc.js';
import { benchAdmission } from './admission.js';
import { benchFleetTraffic } from './fleet.js';
import { benchHttp } from './http.js';
import { benchMemory } from './memory.js';
import { benchObservability } from './observe.js';
import { benchOnnx } from './onnx.js';
import { benchPick } from './pick.js';
import { benchPreview } from './preview.js';
import { benchReadout } from './readout.js';
import { benchReadoutScale } from './readout-scale.js';
import { benchFleet, fleetBlock } from './llm-fleet/run.js';
import { formatSection, type BenchSection } from './report.js';
import { benchTensors } from './tensors.js';
import { benchTokens } from './tokens.js';

type Bench = () => Promise<BenchSection>;

const quick = process.argv.includes('--quick');
const benches: Array<[string, Bench]> = [
  ['decide', () => benchDecide(quick ? 1 : 2)],
  ['pick', () => Promise.resolve(benchPick(quick ? 200_000 : 1_000_000))],
  ['http', () => benchHttp({ seconds: quick ? 2 : 5, rounds: quick ? 3 : 9, roundSeconds: quick ? 1 : 3 })],
  ['cache', () => benchCache({ rounds: quick ? 3 : 9, roundSeconds: quick ? 1 : 3 })],
  ['edge', () => benchEdge({ seconds: quick ? 2 : 5 })],
  ['memory', benchMemory],
  ['onnx', benchOnnx],
  ['grpc', () => benchGrpc(quick ? 0.5 : 1.5)],
  ['tensors', () => benchTensors(quick)],
  ['observability', benchObservability],
  ['tokens', () => benchTokens(quick ? 200 : 400)],
  ['control', benchControl],
  ['console', () => benchConsole(quick)],
  ['readout', () => benchReadout(quick ? 1_000_000 : 10_000_000)],
  ['preview', () => benchPreview(quick ? 200_000 : 1_000_000)],
  ['admission', () => benchAdmission(quick ? 5_000 : 20_000)],
  ['fleet-traffic', () => benchFleetTraffic()],
  ['readout-scale', () => benchReadoutScale(quick ? 1_000_000 : 10_000_000)],
];
if (process.argv.includes('--fleet')) {
  benches.push(['llm-fleet', async () => (await benchFleet({ scale: 0.25, seconds: quick ? 20 : 60 })).section]);
}

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
let fleetText: string | undefined;
for (const [name, bench] of benches) {
  const section = await bench().catch((err: Error) => ({ name, rows: [], notes: [`failed: ${err.message}`] }));
  if (name === 'http') httpSection = section;
  const text = formatSection(section);
  if (name === 'llm-fleet') {
    fleetText = text;
    console.log(text);
    continue;
  }
  console.log(text);
  report += `${text}\n`;
}
if (process.argv.includes('--write')) {
  const results = new URL('../docs/bench-results.md', import.meta.url);
  let previous = '';
  try {
    previous = readFileSync(results, 'utf8');
  } catch {
    // no report yet
  }
  const fleet = fleetText === undefined ? fleetBlock(previous) : fleetBlock(fleetText, true);
  writeFileSync(results, `${report}\n![throughput and latency](bench-chart.svg)\n${fleet ? `\n${fleet}\n` : ''}`);
  if (httpSection && httpSection.rows.length > 0)
    writeFileSync(new URL('../docs/bench-chart.svg', import.meta.url), httpChart(httpSection));
  console.log('wrote docs/bench-results.md and docs/bench-chart.svg');
}
