// Top-k class labels for classifiers: read from the first output whose last
// dimension has one score per configured label.
import { JunctionError } from '../../errors.js';
import type { Feeds } from './batcher.js';
import type { OnnxModel } from './model.js';

export interface Scored {
  label: string;
  score: number;
}

export function topLabels(
  model: OnnxModel,
  out: Feeds,
  labels: readonly string[],
  topK: unknown = 3,
): Scored[][] | undefined {
  const k = topK ?? 3;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new JunctionError('invalid_request', `topK must be a positive integer, got ${JSON.stringify(k)}`);
  }
  const spec = model.outputs.find((s) => s.shape.at(-1) === labels.length);
  const tensor = spec === undefined ? undefined : out[spec.name];
  if (tensor === undefined || !(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array))
    return undefined;
  const scores = tensor.data;
  const width = labels.length;
  const rows = scores.length / width;
  const result: Scored[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = labels.map((label, i) => ({ label, score: scores[r * width + i]! }));
    row.sort((a, b) => b.score - a.score);
    result.push(row.slice(0, Math.min(k, width)));
  }
  return result;
}
