// Small config builders for integration tests: raw HTTP versions in front of test upstreams.
import type { ConfigInput } from '../../src/config/schema.js';

type ObjectiveInput = NonNullable<ConfigInput['objectives']>[string];

/** `{ "m@1": [url], "m@2": [url, url] }` → models with raw HTTP backends. */
export function rawModels(targets: Record<string, string[]>): NonNullable<ConfigInput['models']> {
  const models: NonNullable<ConfigInput['models']> = {};
  for (const [ref, endpoints] of Object.entries(targets)) {
    const [model, version] = ref.split('@') as [string, string];
    models[model] ??= { versions: {} };
    models[model].versions[version] = {
      backend: {
        type: 'http',
        protocol: 'raw',
        endpoints,
        ejection: { consecutiveFailures: 1000, baseEjectionMs: 10, maxEjectedPercent: 50 },
      },
    };
  }
  return models;
}

export function oneObjective(
  targets: Record<string, string[]>,
  objective: Partial<ObjectiveInput> & { default: string },
  extra: Partial<ConfigInput> = {},
): ConfigInput {
  return { models: rawModels(targets), objectives: { obj: { interface: 'json', ...objective } }, ...extra };
}
