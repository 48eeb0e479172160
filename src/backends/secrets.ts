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

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

export interface ResolvedSecret {
  value: string;
  /** Set instead of a usable value when a reference cannot be resolved. */
  issue?: ConfigIssue;
}

/**
 * Replaces every reference in `text`. `at` is the config path reported on
 * failure; relative file paths resolve against `baseDir` (the config's folder).
 * A file's trailing newline is dropped (what `echo key > file` leaves).
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
      const v = env[name];
      if (v === undefined || v === '')
        issue ??= { path: at, message: `environment variable ${name} is not set (referenced as \${env:${name}})` };
      return v ?? '';
    }
    try {
      return readFileSync(resolve(baseDir, name), 'utf8').replace(/\r?\n$/, '');
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
    const r = resolveSecretText(text, `${at}.${name}`, baseDir);
    if (r.issue !== undefined) issues.push(r.issue);
    else out[name.toLowerCase()] = r.value;
  }
  return out;
}
