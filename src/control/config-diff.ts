// A readable diff between two config sources, one line per changed path:
//   + objectives.search.rollout: {"candidate":"ranker@8","percent":1}
//   - models.ranker.versions.5
//   ~ objectives.cw.default: "ranker@6" → "ranker@7"
// Structural, so key order and YAML formatting never show up as changes.
import { formatPath } from '../config/issues.js';

const MAX_VALUE_CHARS = 200;

export function configDiff(before: unknown, after: unknown): string[] {
  const lines: string[] = [];
  walk(before ?? {}, after ?? {}, [], lines); // the first revision lists everything it adds
  return lines;
}

export function formatDiff(lines: readonly string[]): string {
  return lines.length === 0 ? '(no changes)' : lines.join('\n');
}

function walk(a: unknown, b: unknown, path: PropertyKey[], out: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const key of Object.keys(a)) {
      if (!(key in b)) out.push(`- ${formatPath([...path, key])}`);
    }
    for (const key of Object.keys(b)) {
      if (!(key in a)) out.push(`+ ${formatPath([...path, key])}: ${show(b[key])}`);
      else walk(a[key], b[key], [...path, key], out);
    }
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (a === undefined) out.push(`+ ${formatPath(path)}: ${show(b)}`);
  else if (b === undefined) out.push(`- ${formatPath(path)}`);
  else out.push(`~ ${formatPath(path)}: ${show(a)} → ${show(b)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}
