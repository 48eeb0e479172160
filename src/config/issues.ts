// A config problem: where it is and what to do about it.
export interface ConfigIssue {
  /** Dotted path into the config, e.g. `objectives.cw.experiments[0].cells`. */
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

/** Thrown when a config is refused; the running revision is never touched by it. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source?: string) {
    const head = `${source ? `${source}: ` : ''}config refused (${issues.length} problem${issues.length === 1 ? '' : 's'})`;
    super(`${head}\n${formatIssues(issues)}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
