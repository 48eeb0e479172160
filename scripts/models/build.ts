// `npm run models`: trains every quickstart model from scratch (seeded, plain
// TypeScript math, no download) and writes the ONNX files into models/.
// Running it twice gives byte-identical files (scripts/models/build.test.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainCharLm } from './charlm.js';
import { faqTrainingText } from './faq.js';
import { encodeModel } from './onnx-writer.js';
import { trainRanker } from './ranker.js';
import { SHAPE_LABELS, trainShapes } from './shapes.js';

const here = dirname(fileURLToPath(import.meta.url));

const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
const faq = () => faqTrainingText(readFileSync(join(here, 'data', 'support-faq.txt'), 'utf8'));
const charLm = () => trainCharLm({ version: '1', text: faq(), context: 16, embed: 8, hidden: 96, epochs: 12, seed: 3 });

/** Every file in models/, by name, with the recipe that makes it. */
export const MODEL_FILES: Record<string, () => Uint8Array> = {
  'ranker-6.onnx': () => encodeModel(trainRanker({ version: '6', hidden: 8, epochs: 3, seed: 6 })),
  'ranker-7.onnx': () => encodeModel(trainRanker({ version: '7', hidden: 16, epochs: 12, seed: 7 })),
  'shapes-1.onnx': () => encodeModel(trainShapes({ version: '1', channels: 4, epochs: 4, seed: 1 })),
  'shapes-2.onnx': () => encodeModel(trainShapes({ version: '2', channels: 8, epochs: 10, seed: 2 })),
  'shapes.labels.json': () => json(SHAPE_LABELS),
  'charlm-1.onnx': () => encodeModel(charLm().graph),
  'charlm-1.vocab.json': () => json(charLm().vocab),
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(here, '..', '..', 'models');
  mkdirSync(out, { recursive: true });
  const lm = charLm();
  const built: Record<string, () => Uint8Array> = {
    ...MODEL_FILES,
    // One training run for both files of the language model.
    'charlm-1.onnx': () => encodeModel(lm.graph),
    'charlm-1.vocab.json': () => json(lm.vocab),
  };
  for (const [name, make] of Object.entries(built)) {
    const bytes = make();
    writeFileSync(join(out, name), bytes);
    console.log(`${join(out, name)}  ${bytes.length} bytes`);
  }
}
