// A readable diff between two config sources, one line per changed path:
//   + objectives.search.rollout: {"candidate":"ranker@8","percent":1}
//   - models.ranker.versions.5
//   ~ objectives.cw.default: "ranker@6" → "ranker@7"
// Structural, so key order and YAML formatting never show up as changes.
// Never throws: it walks at most MAX_DEPTH levels (validation bounds a config
// well below that) and a value too deep or odd to serialize is shown as such.
import { formatPath } from '../config/issues.js';

const MAX_VALUE_CHARS = 200;
const MAX_DEPTH = 64;

export function configDiff(before: unknown, after: unknown): string[] {
  const lines: string[] = [];
  walk(before ?? {}, after ?? {}, [], lines); // the first revision lists everything it adds
  return lines;
}

export function formatDiff(lines: readonly string[]): string {
  return lines.length === 0 ? '(no changes)' : lines.join('\n');
}

function walk(a: unknown, b: unknown, path: PropertyKey[], out: string[]): void {
  if (isRecord(a) && isRecord(b) && path.length < MAX_DEPTH) {
    for (const key of Object.keys(a)) {
      if (!(key in b)) out.push(`- ${formatPath([...path, key])}`);
    }
    for (const key of Object.keys(b)) {
      if (!(key in a)) out.push(`+ ${formatPath([...path, key])}: ${show(b[key])}`);
      else walk(a[key], b[key], [...path, key], out);
    }
    return;
  }
  const [ja, jb] = [json(a), json(b)];
  if (ja !== undefined && ja === jb) return;
  if (a === undefined) out.push(`+ ${formatPath(path)}: ${show(b)}`);
  else if (b === undefined) out.push(`- ${formatPath(path)}`);
  else out.push(`~ ${formatPath(path)}: ${show(a)} → ${show(b)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON text, or undefined when the value cannot be serialized (too deep for the stack, cyclic, a BigInt). */
function json(v: unknown): string | undefined {
  try {
    return JSON.stringify(v) ?? 'undefined';
  } catch {
    return undefined;
  }
}

function show(v: unknown): string {
  const s = json(v) ?? '(too deeply nested to show)';
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}
