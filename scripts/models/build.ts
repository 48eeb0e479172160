// `npm run models`: trains every quickstart model from scratch (seeded, plain
// TypeScript math, no download) and writes the ONNX files into models/.
// Running it twice gives byte-identical files (test/models-deterministic.test.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainCharLm } from './charlm.js';
import { encodeModel } from './onnx-writer.js';
import { trainRanker } from './ranker.js';
import { SHAPE_LABELS, trainShapes } from './shapes.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface BuiltFile {
  name: string;
  bytes: Uint8Array;
}

export function buildModels(): BuiltFile[] {
  const text = readFileSync(join(here, 'data', 'support-faq.txt'), 'utf8');
  const lm = trainCharLm({ version: '1', text, context: 16, embed: 8, hidden: 96, epochs: 40, seed: 3 });
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  return [
    { name: 'ranker-6.onnx', bytes: encodeModel(trainRanker({ version: '6', hidden: 8, epochs: 3, seed: 6 })) },
    { name: 'ranker-7.onnx', bytes: encodeModel(trainRanker({ version: '7', hidden: 16, epochs: 12, seed: 7 })) },
    { name: 'shapes-1.onnx', bytes: encodeModel(trainShapes({ version: '1', channels: 4, epochs: 4, seed: 1 })) },
    { name: 'shapes-2.onnx', bytes: encodeModel(trainShapes({ version: '2', channels: 8, epochs: 10, seed: 2 })) },
    { name: 'shapes.labels.json', bytes: json(SHAPE_LABELS) },
    { name: 'charlm-1.onnx', bytes: encodeModel(lm.graph) },
    { name: 'charlm-1.vocab.json', bytes: json(lm.vocab) },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(here, '..', '..', 'models');
  mkdirSync(out, { recursive: true });
  for (const f of buildModels()) {
    writeFileSync(join(out, f.name), f.bytes);
    console.log(`${join(out, f.name)}  ${f.bytes.length} bytes`);
  }
}
