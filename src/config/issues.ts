// Config problems: where they are (formatPath) and how they read.
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

// The refused-config error and its issues belong to the error vocabulary (src/errors.ts),
// the bottom of the layers; re-exported here where config code looks for them.
export { ConfigError, formatIssues, type ConfigIssue } from '../errors.js';
