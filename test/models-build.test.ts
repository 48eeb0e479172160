// The committed models are exactly what `npm run models` makes: training is
// seeded and deterministic. (The quick recipes only; the language model takes
// ~20 s to train and is checked by running `npm run models` and `git diff`.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_FILES } from '../scripts/models/build.js';
import { REPO_ROOT } from './support/onnx.js';

describe('npm run models', () => {
  it.each(['ranker-6.onnx', 'ranker-7.onnx', 'shapes.labels.json'])('rebuilds %s byte for byte', (name) => {
    const built = MODEL_FILES[name]!();
    expect(Buffer.from(built).equals(readFileSync(join(REPO_ROOT, 'models', name)))).toBe(true);
  });
});
