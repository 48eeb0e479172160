// Text → validated Config. Schema errors and semantic errors are reported
// together so a user fixes everything in one pass.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './issues.js';
import { Config } from './schema.js';
import { validateSemantics } from './validate.js';

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

/** Parses YAML or JSON (JSON is YAML) text into a plain value. */
export function parseConfigText(text: string, source = 'config'): unknown {
  // Generated configs are often large JSON: JSON.parse needs a fraction of the
  // memory of a YAML document tree (1 MB of config: ~60 MB vs ~200 MB RSS peak).
  // On a JSON syntax error, fall through so YAML reports it with line and column.
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // reported below
    }
  }
  // The YAML parser recurses per flow level ([[[[…): a deep enough document
  // overflows its stack (a 400 without a path) or worse. No config nests
  // anywhere near this; validation bounds free-form values at 32 levels.
  const depth = flowDepth(text, MAX_FLOW_DEPTH);
  if (depth > MAX_FLOW_DEPTH) {
    throw new ConfigError(
      [{ path: '(syntax)', message: `brackets nest deeper than ${MAX_FLOW_DEPTH} levels` }],
      source,
    );
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: '(syntax)',
        message: `${e.message.split('\n')[0]}${e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''}`,
      })),
      source,
    );
  }
  try {
    // maxAliasCount bounds what aliases may expand to (a "billion laughs" document): a refused config, not a crash.
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError(
      [{ path: '(syntax)', message: `${(err as Error).message}: aliases may expand to at most 100 nodes each` }],
      source,
    );
  }
}

/** Validates a plain value; throws ConfigError listing every problem. */
export function validateConfig(value: unknown, source?: string): Config {
  const parsed = Config.safeParse(value);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(zodIssue), source);
  const issues = validateSemantics(parsed.data);
  if (issues.length > 0) throw new ConfigError(issues, source);
  return parsed.data;
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
  const source = parseConfigText(text, file);
  return { config: validateConfig(source, file), source, text, baseDir: dirname(resolve(file)) };
}

function zodIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        path,
        message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against schema/junction.schema.json`,
      };
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        return {
          path,
          message: `${issue.message}; expected ${String(issue.discriminator)} to be one of the documented kinds`,
        };
      }
      return { path, message: issue.message };
    default:
      return { path, message: issue.message };
  }
}
