// Text → validated Config. Syntax, schema and semantic errors are reported
// together, each at its line and column, so a user fixes everything in one pass.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, foundToIssue, type ConfigIssue, type FoundIssue } from './issues.js';
import { scanJson } from './json-scan.js';
import { looseConfig } from './loose.js';
import { inTextOrder, linesAndColumns, placeIssues, yamlPathAt, type TextFormat } from './positions.js';
import { Config } from './schema.js';
import { semanticIssues } from './validate.js';

export interface LoadedConfig {
  config: Config;
  /** The raw document as the author wrote it (what a revision stores). */
  source: unknown;
  /** The file's text (comments and order as written; a revision keeps it for editors). */
  text: string;
  /** Relative paths in the config (model files) resolve against this folder. */
  baseDir: string;
}

const MAX_FLOW_DEPTH = 256;

/**
 * How deep `[`/`{` nest in the text, counted past `limit` no further. Quotes
 * are not interpreted, so brackets inside strings count too: an overestimate,
 * harmless at a limit eight times what validation allows anywhere.
 */
function flowDepth(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return depth;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return depth;
}

/** What a config text holds and everything wrong with it, each problem placed at its line and column. */
export interface ConfigReport {
  /** The document as parsed; undefined when a syntax error stopped the reading. */
  source?: unknown;
  /** The validated config; only when there is no issue. */
  config?: Config;
  /** Every problem, in the order of the text (problems without a position last). */
  issues: ConfigIssue[];
}

/** What `inspectConfigText` finds, before the problems are placed in the text. */
export interface ConfigFindings {
  source?: unknown;
  config?: Config;
  format: TextFormat;
  issues: (ConfigIssue | FoundIssue)[];
}

/** Parses YAML or JSON (JSON is YAML) text into a plain value; throws ConfigError on a syntax error or a key written twice. */
export function parseConfigText(text: string, source = 'config'): unknown {
  const read = readText(text);
  if (read.issues.length > 0) throw new ConfigError(read.issues, source);
  return read.value;
}

/**
 * Every problem of a config text in one pass: syntax, keys written twice,
 * the schema, and the semantic checks — these also on the well-formed parts
 * of a document the schema refused — each with the line and column of its path.
 * What `junction validate`, the admin API and the console report.
 */
export function checkConfigText(text: string): ConfigReport {
  const found = inspectConfigText(text);
  const issues =
    found.issues.length === 0 ? [] : inTextOrder(placeIssues(text, found.format, found.source, found.issues));
  return { source: found.source, config: found.config, issues };
}

/** Like checkConfigText, with the problems not yet placed (a caller with more problems to add places them all at once). */
export function inspectConfigText(text: string): ConfigFindings {
  const read = readText(text);
  if (read.value === undefined) return { format: read.format, issues: read.issues };
  const { config, issues } = findIssues(read.value);
  const all = [...read.issues, ...issues];
  return { source: read.value, config: all.length === 0 ? config : undefined, format: read.format, issues: all };
}

/** Text → validated config, or a ConfigError listing every problem with its line and column. */
export function loadConfigText(text: string, source = 'config'): { source: unknown; config: Config } {
  const report = checkConfigText(text);
  if (report.config === undefined) throw new ConfigError(report.issues, source);
  return { source: report.source, config: report.config };
}

/** Validates a plain value; throws ConfigError listing every problem (schema and semantics together). */
export function validateConfig(value: unknown, source?: string): Config {
  const { config, issues } = findIssues(value);
  if (config === undefined || issues.length > 0) throw new ConfigError(issues.map(foundToIssue), source);
  return config;
}

export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ path: '(file)', message: `cannot read ${file}: ${String((err as NodeJS.ErrnoException).code ?? err)}` }],
      file,
    );
  }
  const { source, config } = loadConfigText(text, file);
  return { config, source, text, baseDir: dirname(resolve(file)) };
}

interface ReadText {
  /** undefined: a syntax error stopped the reading. */
  value?: unknown;
  format: TextFormat;
  /** Syntax errors and keys written twice, placed. */
  issues: ConfigIssue[];
}

function readText(text: string): ReadText {
  // Generated configs are often large JSON: JSON.parse needs a fraction of the
  // memory of a YAML document tree (1 MB of config: ~60 MB vs ~200 MB RSS peak).
  // On a JSON syntax error, fall through so YAML reports it with line and column.
  if (/^\s*[{[]/.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      // reported below
    }
    // JSON.parse keeps the last of a key written twice, silently: the scan finds them.
    if (value !== undefined) return { value, format: 'json', issues: jsonDuplicates(text) };
  }
  // The YAML parser recurses per flow level ([[[[…): a deep enough document
  // overflows its stack (a 400 without a path) or worse. No config nests
  // anywhere near this; validation bounds free-form values at 32 levels.
  const depth = flowDepth(text, MAX_FLOW_DEPTH);
  if (depth > MAX_FLOW_DEPTH) {
    return {
      format: 'yaml',
      issues: [{ path: '(syntax)', message: `brackets nest deeper than ${MAX_FLOW_DEPTH} levels` }],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const issues = doc.errors.map((e): ConfigIssue => {
    const { line, col: column } = lineCounter.linePos(e.pos[0]);
    if (e.code !== 'DUPLICATE_KEY') return { path: '(syntax)', message: e.message.split('\n')[0]!, line, column };
    const { at, key } = yamlPathAt(doc, e.pos[0]);
    return { path: formatPath(at), message: duplicateKeyMessage(key ?? text.slice(e.pos[0], e.pos[1])), line, column };
  });
  // A key written twice leaves a document to validate (the last one kept, as JSON.parse does): one pass reports the rest too.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { format: 'yaml', issues };
  try {
    // maxAliasCount bounds what aliases may expand to (a "billion laughs" document): a refused config, not a crash.
    return { value: doc.toJS({ maxAliasCount: 100 }) ?? {}, format: 'yaml', issues };
  } catch (err) {
    return {
      format: 'yaml',
      issues: [
        { path: '(syntax)', message: `${(err as Error).message}: aliases may expand to at most 100 nodes each` },
      ],
    };
  }
}

function jsonDuplicates(text: string): ConfigIssue[] {
  const { duplicates } = scanJson(text, [], true);
  if (duplicates.length === 0) return [];
  const positions = linesAndColumns(
    text,
    duplicates.map((d) => d.offset),
  );
  return duplicates.map((d, n) => ({
    path: formatPath(d.at),
    message: duplicateKeyMessage(d.key),
    line: positions[n]!.line,
    column: positions[n]!.column,
  }));
}

function duplicateKeyMessage(key: string): string {
  return `key "${key}" is written twice; keep one (otherwise the last one silently wins)`;
}

/** The schema's problems and the semantic ones together (semantics on the well-formed parts when the schema refused some). */
function findIssues(value: unknown): { config?: Config; issues: FoundIssue[] } {
  const parsed = Config.safeParse(value);
  if (parsed.success) return { config: parsed.data, issues: semanticIssues(parsed.data) };
  return { issues: [...parsed.error.issues.map(zodIssue), ...semanticIssues(looseConfig(value))] };
}

function zodIssue(issue: z.core.$ZodIssue): FoundIssue {
  const at = issue.path;
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        at,
        key: issue.keys[0],
        message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against schema/junction.schema.json`,
      };
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        return {
          at,
          message: `${issue.message}; expected ${String(issue.discriminator)} to be one of the documented kinds`,
        };
      }
      return { at, message: issue.message };
    case 'invalid_type':
      // zod says "expected string, received undefined" of a key that is not there.
      if (issue.message.endsWith('received undefined'))
        return { at, message: `missing: this key is required (expected ${issue.expected})` };
      return { at, message: issue.message };
    default:
      return { at, message: issue.message };
  }
}
