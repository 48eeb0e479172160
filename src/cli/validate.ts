// `junction validate FILE [--json]`: every problem of a config file in one
// pass — syntax, schema, semantics, and the ONNX model files it names (opened
// through the same loader an apply uses) — each with its config path.
// Secrets (${env:…}, ${file:…}) and TLS files are not read here: they are
// resolved where Junction runs, when a revision is applied. Each problem is
// printed at its FILE:LINE:COLUMN (config-report.ts); --json gives the same
// issues with line and column fields, as the admin API's 400 does.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkModelFiles, type ModelFileRefs } from '../backends/onnx/check-models.js';
import type { ConfigIssue } from '../config/issues.js';
import { inspectConfigText } from '../config/load.js';
import { inTextOrder, placeIssues } from '../config/positions.js';
import { formatConfigReport } from './config-report.js';
import { UserError } from './user-error.js';

interface Verdict {
  file: string;
  valid: boolean;
  /** Each with `line` and `column` where the file writes its path, or `inText: false` where it does not. */
  issues: ConfigIssue[];
  objectives?: number;
  targets?: number;
}

export async function validateCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const file = positionals[0];
  if (!file) throw new UserError('name the config file: junction validate FILE');
  const verdict = await validateFile(file);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
    return verdict.valid ? 0 : 1;
  }
  if (!verdict.valid) {
    process.stderr.write(formatConfigReport(file, verdict.issues));
    return 1;
  }
  const { objectives = 0, targets = 0 } = verdict;
  process.stdout.write(
    `${file}: valid (${objectives} objective${objectives === 1 ? '' : 's'}, ${targets} target${targets === 1 ? '' : 's'})\n`,
  );
  return 0;
}

export async function validateFile(file: string): Promise<Verdict> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return {
      file,
      valid: false,
      issues: [
        { path: '(file)', message: `cannot read ${file}: ${String((err as NodeJS.ErrnoException).code ?? err)}` },
      ],
    };
  }
  const found = inspectConfigText(text);
  // Model files are checked even when the schema found problems elsewhere: one pass finds all.
  const models =
    found.source === undefined
      ? []
      : await checkModelFiles(found.config ?? looseModelRefs(found.source), dirname(resolve(file)));
  const { config } = found;
  if (found.issues.length > 0 || models.length > 0 || config === undefined) {
    const issues = inTextOrder(placeIssues(text, found.format, found.source, [...found.issues, ...models]));
    return { file, valid: false, issues };
  }
  return {
    file,
    valid: true,
    issues: [],
    objectives: Object.keys(config.objectives).length,
    targets: Object.values(config.models).reduce((n, m) => n + Object.keys(m.versions).length, 0),
  };
}

/** The onnx backends of a config the schema refused, as far as they can be read. */
function looseModelRefs(source: unknown): ModelFileRefs {
  const out: ModelFileRefs = { models: {} };
  const models = (source as { models?: unknown } | null)?.models;
  if (models === null || typeof models !== 'object') return out;
  for (const [model, m] of Object.entries(models as Record<string, unknown>)) {
    const versions = (m as { versions?: unknown } | null)?.versions;
    if (versions === null || typeof versions !== 'object') continue;
    for (const [version, v] of Object.entries(versions as Record<string, unknown>)) {
      const backend = (v as { backend?: { type?: unknown; path?: unknown } } | null)?.backend;
      if (backend?.type === 'onnx' && typeof backend.path === 'string') {
        (out.models[model] ??= { versions: {} }).versions[version] = { backend: { type: 'onnx', path: backend.path } };
      }
    }
  }
  return out;
}
