// `junction validate` opens every ONNX model file the config names, through the
// same session loader an apply uses, so a missing or broken file is reported
// before deploy, with its config path, not at the first apply.
import { ConfigError, type ConfigIssue } from '../../config/issues.js';
import { OnnxSessions } from './sessions.js';

/** The part of a config this reads: a validated Config, or what `validate` could read of a refused one. */
export interface ModelFileRefs {
  models: Record<string, { versions: Record<string, { backend: { type: string; path?: string } }> }>;
}

export async function checkModelFiles(config: ModelFileRefs, baseDir: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const sessions = new OnnxSessions();
  for (const [model, m] of Object.entries(config.models)) {
    for (const [version, v] of Object.entries(m.versions)) {
      if (v.backend.type !== 'onnx' || v.backend.path === undefined) continue;
      try {
        const session = await sessions.acquire(
          v.backend.path,
          baseDir,
          `models.${model}.versions.${version}.backend.path`,
        );
        await session.release();
      } catch (err) {
        if (err instanceof ConfigError) issues.push(...err.issues);
        else throw err;
      }
    }
  }
  return issues;
}
