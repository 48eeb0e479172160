// Secret references in backend settings (SPEC §4): a value may hold
// `${env:NAME}` or `${file:PATH}` (e.g. `Bearer ${env:OPENAI_API_KEY}`),
// resolved when a revision is built — never when a request is served. The
// config keeps the references as written, so everything that shows a config
// (admin API, revisions, diffs, the snapshot) shows `${env:NAME}`, never the
// value. A reference that cannot be resolved is a config issue naming its
// path: the revision is refused and the running one stays.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from '../config/issues.js';
import { headerValueProblem } from '../config/safe-text.js';

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

export interface ResolvedSecret {
  value: string;
  /** Set instead of a usable value when a reference cannot be resolved. */
  issue?: ConfigIssue;
}

/**
 * Replaces every reference in `text`. `at` is the config path reported on
 * failure; relative file paths resolve against `baseDir` (the config's folder).
 * Each resolved value is trimmed of surrounding whitespace (the trailing
 * newline `echo key > file` leaves, a `\r\n`, stray spaces): what the user
 * meant, and what HTTP would drop around a field value anyway.
 */
export function resolveSecretText(
  text: string,
  at: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSecret {
  let issue: ConfigIssue | undefined;
  const value = text.replace(REFERENCE, (_, kind: string, name: string) => {
    if (kind === 'env') {
      const v = env[name]?.trim();
      if (v === undefined || v === '')
        issue ??= { path: at, message: `environment variable ${name} is not set (referenced as \${env:${name}})` };
      return v ?? '';
    }
    try {
      return readFileSync(resolve(baseDir, name), 'utf8').trim();
    } catch (err) {
      issue ??= {
        path: at,
        message: `cannot read secret file ${name} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      };
      return '';
    }
  });
  return issue === undefined ? { value } : { value: '', issue };
}

/**
 * `resolveSecretText` for a header value: a value that cannot be sent as a
 * header (a line break, NUL, any other control or non-ASCII character inside
 * the secret) is refused now, naming the path and the references — never the
 * value — instead of making every call fail later as the caller's 400.
 */
export function resolveHeaderValue(
  text: string,
  at: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSecret {
  const r = resolveSecretText(text, at, baseDir, env);
  if (r.issue !== undefined) return r;
  const problem = headerValueProblem(r.value, false);
  if (problem === undefined) return r;
  const refs = [...text.matchAll(REFERENCE)].map((m) => m[0]).join(', ');
  return {
    value: '',
    issue: {
      path: at,
      message: `${refs === '' ? 'the value' : `the value of ${refs}`} has ${problem} once resolved; a header value may hold visible ASCII, spaces and tabs only (surrounding whitespace is trimmed)`,
    },
  };
}

/**
 * Resolves a header map (names lowercased, as undici sends them). Collects
 * every unresolvable reference into `issues` rather than stopping at the first.
 */
export function resolveHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  at: string,
  baseDir: string,
  issues: ConfigIssue[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, text] of Object.entries(headers)) {
    const r = resolveHeaderValue(text, `${at}.${name}`, baseDir);
    if (r.issue !== undefined) issues.push(r.issue);
    else out[name.toLowerCase()] = r.value;
  }
  return out;
}
