// Config problems: where they are (formatPath) and how they read.
import type { ConfigIssue } from '../errors.js';

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** A problem with its path as keys, as the checks find it: before it is placed in the text (positions.ts). */
export interface FoundIssue {
  at: readonly PropertyKey[];
  /** A key inside the mapping at `at` the problem is about (an unknown key): placed at that key. */
  key?: string;
  message: string;
}

/** The issue as reported without its text: the path formatted, no position. */
export function foundToIssue(issue: FoundIssue): ConfigIssue {
  return { path: formatPath(issue.at), message: issue.message };
}

// The refused-config error and its issues belong to the error vocabulary (src/errors.ts),
// the bottom of the layers; re-exported here where config code looks for them.
export { ConfigError, formatIssues, type ConfigIssue } from '../errors.js';
