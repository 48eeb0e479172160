// `npx tsx bench/config-check.ts [objectives]`: what placing config problems
// at their line and column costs (issue 27 item 3), as ratios measured side
// by side in one run, rounds interleaved, medians reported.
//  - a valid JSON config: JSON.parse alone vs reading it as Junction does
//    (JSON.parse + the scan for keys written twice) vs the whole check;
//  - a config with one problem per objective: finding the problems vs finding
//    and placing them (JSON: one iterative scan; YAML: the text parsed again).
import { stringify } from 'yaml';
import { Config } from '../src/config/schema.js';
import { checkConfigText, inspectConfigText, parseConfigText } from '../src/config/load.js';

const objectives = Number(process.argv[2] ?? 2000);
const ROUNDS = 7;

function config(broken: boolean) {
  const models: Record<string, unknown> = {};
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < objectives; i++) {
    const backend = (host: number) => ({ backend: { type: 'http', endpoints: [`http://10.0.${host % 250}.1:8000`] } });
    models[`m${i}`] = { class: 'scorer', versions: { '1': backend(i), '2': backend(i + 1) } };
    obj[`o${i}`] = {
      default: `m${i}@1`,
      policy: { timeoutMs: 100 },
      rules: [{ when: { context: { country: ['BR'] } }, use: broken ? `m${i}@9` : `m${i}@2` }],
      experiments: [
        {
          id: `e${i}`,
          population: 0.5,
          cells: { A: { weight: 50, use: `m${i}@1` }, B: { weight: 50, use: `m${i}@2` } },
        },
      ],
    };
  }
  return { models, objectives: obj };
}

function time(f: () => unknown): number {
  const start = performance.now();
  f();
  return performance.now() - start;
}

function medians(cases: Record<string, () => unknown>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, f] of Object.entries(cases)) samples[name]!.push(time(f));
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [k, v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!]),
  );
}

const validJson = JSON.stringify(config(false), null, 2);
const brokenJson = JSON.stringify(config(true), null, 2);
const brokenYaml = stringify(config(true));
console.log(
  `${objectives} objectives: valid JSON ${(validJson.length / 1e6).toFixed(1)} MB, broken YAML ${(brokenYaml.length / 1e6).toFixed(1)} MB`,
);

const valid = medians({
  'JSON.parse': () => JSON.parse(validJson),
  'parseConfigText (JSON.parse + duplicate-key scan)': () => parseConfigText(validJson),
  'JSON.parse + schema': () => Config.parse(JSON.parse(validJson)),
  'checkConfigText (whole check)': () => checkConfigText(validJson),
});
const base = valid['JSON.parse']!;
for (const [k, v] of Object.entries(valid)) console.log(`valid JSON  ${k}: ${(v / base).toFixed(2)}× JSON.parse`);

for (const [format, text] of [
  ['JSON', brokenJson],
  ['YAML', brokenYaml],
] as const) {
  const broken = medians({
    find: () => inspectConfigText(text),
    'find + place': () => checkConfigText(text),
  });
  console.log(
    `broken ${format} (${objectives} problems)  find + place: ${(broken['find + place']! / broken.find!).toFixed(2)}× find alone`,
  );
}
