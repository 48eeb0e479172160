// `junction validate FILE [--json]`: every problem of a config file in one
// pass — syntax, schema, semantics, and the ONNX model files it names (opened
// through the same loader an apply uses) — each with its config path.
// Secrets (${env:…}, ${file:…}) and TLS files are not read here: they are
// resolved where Junction runs, when a revision is applied.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkModelFiles, type ModelFileRefs } from '../backends/onnx/check-models.js';
import { ConfigError, type ConfigIssue } from '../config/issues.js';
import { parseConfigText, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from './user-error.js';

interface Verdict {
  file: string;
  valid: boolean;
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
  if (!verdict.valid) throw new ConfigError(verdict.issues, file); // → every problem on stderr, exit 1
  const { objectives = 0, targets = 0 } = verdict;
  process.stdout.write(
    `${file}: valid (${objectives} objective${objectives === 1 ? '' : 's'}, ${targets} target${targets === 1 ? '' : 's'})\n`,
  );
  return 0;
}

export async function validateFile(file: string): Promise<Verdict> {
  let source: unknown;
  try {
    source = parseConfigText(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof ConfigError) return { file, valid: false, issues: [...err.issues] };
    return {
      file,
      valid: false,
      issues: [
        { path: '(file)', message: `cannot read ${file}: ${String((err as NodeJS.ErrnoException).code ?? err)}` },
      ],
    };
  }
  const issues: ConfigIssue[] = [];
  let config: Config | undefined;
  try {
    config = validateConfig(source, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  // Model files are checked even when the schema found problems elsewhere: one pass finds all.
  issues.push(...(await checkModelFiles(config ?? looseModelRefs(source), dirname(resolve(file)))));
  if (issues.length > 0 || config === undefined) return { file, valid: false, issues };
  return {
    file,
    valid: true,
    issues,
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
