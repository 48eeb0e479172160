// Where each problem of a config is written in its text, as a 1-based line and
// column, so that `junction validate`, the admin API and the console point at
// it. Problems are found on the parsed value (by path); the text is read again
// only when there are problems to place, so a valid config costs nothing more.
// YAML is placed through the `yaml` package's document (node ranges and a
// LineCounter); JSON through one iterative scan (json-scan.ts: a large or
// 100,000-deep JSON config, which JSON.parse accepts, must not build a YAML
// tree or overflow a recursive walk).
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair } from 'yaml';
import { foundToIssue, type ConfigIssue, type FoundIssue } from './issues.js';
import { scanJson } from './json-scan.js';

/** How the text was parsed: JSON.parse accepted it, or it is YAML. */
export type TextFormat = 'json' | 'yaml';

export interface TextPosition {
  line: number;
  column: number;
}

/**
 * Every issue with the line and column of its path in `text`, or `inText:
 * false` when the text does not write that path (a default, a missing key).
 * Issues already placed (syntax) are kept; issues whose path is a pseudo-path
 * (`(file)`, `(syntax)`) stay unplaced. `source` is the parsed document: it
 * tells the keys of a formatted path apart (`versions.1.5` is version "1.5").
 */
export function placeIssues(
  text: string,
  format: TextFormat,
  source: unknown,
  issues: readonly (FoundIssue | ConfigIssue)[],
): ConfigIssue[] {
  const wanted: { at: readonly PropertyKey[]; key: string | undefined }[] = [];
  const slots = issues.map((issue) => {
    if ('at' in issue) return wanted.push({ at: issue.at, key: issue.key }) - 1;
    if (issue.line !== undefined || (issue.path.startsWith('(') && issue.path !== '(root)')) return -1;
    const at = pathSegments(issue.path, source);
    return at === undefined ? -2 : wanted.push({ at, key: undefined }) - 1;
  });
  const positions = wanted.length === 0 ? [] : format === 'json' ? placeJson(text, wanted) : placeYaml(text, wanted);
  return issues.map((issue, n) => {
    const out = 'at' in issue ? foundToIssue(issue) : { ...issue };
    const slot = slots[n]!;
    if (slot === -1) return out;
    const at = slot >= 0 ? positions[slot] : undefined;
    return at === undefined ? { ...out, inText: false } : { ...out, line: at.line, column: at.column };
  });
}

/** By line and column; the unplaced keep their order, after the placed. */
export function inTextOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const line = (i: ConfigIssue) => i.line ?? Infinity;
  return issues
    .map((issue, n) => ({ issue, n }))
    .sort(({ issue: a, n: i }, { issue: b, n: j }) => line(a) - line(b) || (a.column ?? 0) - (b.column ?? 0) || i - j)
    .map((x) => x.issue);
}

/**
 * The keys of a formatted path (`objectives.cw.rules[0].use`), read against
 * the document so that keys holding dots or brackets split where the
 * document's keys do; undefined when the document has no such path.
 */
export function pathSegments(path: string, source: unknown): PropertyKey[] | undefined {
  if (path === '(root)') return [];
  const out: PropertyKey[] = [];
  return follow(path, 0, source, out) ? out : undefined;
}

function follow(path: string, i: number, value: unknown, out: PropertyKey[]): boolean {
  if (i === path.length) return true;
  if (path[i] === '[') {
    const close = path.indexOf(']', i);
    const index = Number(path.slice(i + 1, close));
    if (close < 0 || !Array.isArray(value) || !Number.isInteger(index) || index >= value.length) return false;
    out.push(index);
    if (follow(path, close + 1, value[index], out)) return true;
    out.pop();
    return false;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const start = i === 0 ? 0 : path[i] === '.' ? i + 1 : -1;
  if (start < 0) return false;
  const rest = path.slice(start);
  const fits = (key: string) =>
    rest.startsWith(key) && (rest.length === key.length || rest[key.length] === '.' || rest[key.length] === '[');
  // The key up to the next separator first; keys holding one are tried only when that fails.
  const plain = /^[^.[]*/.exec(rest)![0];
  const keys = [plain, ...Object.keys(value).filter((k) => k !== plain && /[.[]/.test(k) && fits(k))];
  for (const key of keys) {
    if (!Object.hasOwn(value, key) || !fits(key)) continue;
    out.push(key);
    if (follow(path, start + key.length, (value as Record<string, unknown>)[key], out)) return true;
    out.pop();
  }
  return false;
}

function placeJson(
  text: string,
  wanted: readonly { at: readonly PropertyKey[]; key: string | undefined }[],
): (TextPosition | undefined)[] {
  const { spots } = scanJson(
    text,
    wanted.map((w) => (w.key === undefined ? w.at : [...w.at, w.key])),
  );
  const offsets = spots.map((spot, n) => {
    if (spot === undefined) return undefined;
    if (wanted[n]!.key !== undefined || (spot.container && spot.keyAt !== undefined)) return spot.keyAt;
    return spot.valueAt;
  });
  return linesAndColumns(text, offsets);
}

function placeYaml(
  text: string,
  wanted: readonly { at: readonly PropertyKey[]; key: string | undefined }[],
): (TextPosition | undefined)[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const pairs = new Map<unknown, Map<string, Pair>>();
  return wanted.map(({ at, key }) => {
    const offset = yamlOffset(doc, pairs, key === undefined ? at : [...at, key], key !== undefined);
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  });
}

/** Where the node at `at` starts: its key for a collection under a key, else the value itself. */
function yamlOffset(
  doc: Document,
  pairs: Map<unknown, Map<string, Pair>>,
  at: readonly PropertyKey[],
  atKey: boolean,
): number | undefined {
  let node: unknown = doc.contents;
  let keyStart: number | undefined;
  for (const segment of at) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = pairsOf(pairs, node.items).get(String(segment));
      if (pair === undefined) return undefined;
      keyStart = isNode(pair.key) ? pair.key.range?.[0] : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      keyStart = undefined;
      if (node === undefined) return undefined;
    } else return undefined;
  }
  if (atKey || ((isMap(node) || isSeq(node)) && keyStart !== undefined)) return keyStart;
  return (isNode(node) ? node.range?.[0] : undefined) ?? keyStart;
}

/**
 * The path of the mapping or sequence that holds `offset` most closely, and
 * the key there when the offset is on one (where the parser reports a key
 * written twice). Iterative: one step per level of the path.
 */
export function yamlPathAt(doc: Document, offset: number): { at: PropertyKey[]; key?: string } {
  const at: PropertyKey[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    let next: unknown;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyName(pair.key);
        if (isNode(pair.key) && within(pair.key.range, offset, 1)) return { at, ...(key === undefined ? {} : { key }) };
        if (isNode(pair.value) && within(pair.value.range, offset, 2) && key !== undefined) {
          at.push(key);
          next = pair.value;
          break;
        }
      }
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => isNode(item) && within(item.range, offset, 2));
      if (index >= 0) {
        at.push(index);
        next = node.items[index];
      }
    }
    if (next === undefined) return { at };
    node = next;
  }
}

function within(range: readonly [number, number, number] | null | undefined, offset: number, end: 1 | 2): boolean {
  return range != null && range[0] <= offset && offset < range[end];
}

/** A mapping key as the parsed value names it (toJS: String of a scalar, "" for null); undefined for a collection key. */
function keyName(key: unknown): string | undefined {
  const value = isScalar(key) ? key.value : key;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint'
    ? String(value)
    : undefined;
}

/** A mapping's pairs by key as the parsed value names them (a later duplicate wins, as in the value). */
function pairsOf(cache: Map<unknown, Map<string, Pair>>, items: readonly Pair[]): Map<string, Pair> {
  let byKey = cache.get(items);
  if (byKey === undefined) {
    byKey = new Map();
    for (const pair of items) {
      const key = keyName(pair.key);
      if (key !== undefined) byKey.set(key, pair);
    }
    cache.set(items, byKey);
  }
  return byKey;
}

/** 1-based line and column (UTF-16 units, as editors count) of each offset. */
export function linesAndColumns(text: string, offsets: readonly (number | undefined)[]): (TextPosition | undefined)[] {
  const order = offsets
    .map((offset, n) => ({ offset, n }))
    .filter((o): o is { offset: number; n: number } => o.offset !== undefined)
    .sort((a, b) => a.offset - b.offset);
  const out = new Array<TextPosition | undefined>(offsets.length).fill(undefined);
  let line = 1;
  let lineStart = 0;
  for (const { offset, n } of order) {
    for (let nl = text.indexOf('\n', lineStart); nl >= 0 && nl < offset; nl = text.indexOf('\n', lineStart)) {
      line++;
      lineStart = nl + 1;
    }
    out[n] = { line, column: offset - lineStart + 1 };
  }
  return out;
}
