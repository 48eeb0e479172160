// The parts of a config the schema refused that are well-formed on their own,
// so that the semantic checks (validate.ts: unknown targets, duplicate ids,
// weights, …) still run on them and one pass reports every problem. Each part
// is parsed with its own schema; a malformed one is left out (undefined, or a
// hole in its array) and every check that would need it is skipped rather than
// guessed at: a reference to a declared but malformed model version is not
// "unknown", an objective whose interface is malformed is not judged against
// its targets' interfaces.
import type { z } from 'zod';
import {
  Client,
  Model,
  Objective,
  type ClientConfig,
  type ExperimentConfig,
  type ModelClassName,
  type ObjectiveConfig,
  type RuleConfig,
  type ShadowConfig,
  type VersionConfig,
} from './schema.js';

export interface LooseModel {
  class?: ModelClassName;
  /** undefined: `versions` itself is malformed; a version's value undefined: that version is. */
  versions?: Readonly<Record<string, VersionConfig | undefined>>;
}

/** An objective's well-formed fields; in its lists, a malformed entry is a hole (undefined) at its index. */
export type LooseObjective = Partial<Omit<ObjectiveConfig, 'rules' | 'experiments' | 'shadow' | 'pins'>> & {
  rules?: readonly (RuleConfig | undefined)[];
  experiments?: readonly (ExperimentConfig | undefined)[];
  shadow?: readonly (ShadowConfig | undefined)[];
  pins?: Readonly<Record<string, string | undefined>>;
};

/** What the semantic checks read: a whole Config is one, and so is what `looseConfig` keeps of a refused one. */
export interface LooseConfig {
  /** undefined: `models` itself is malformed, so no target reference can be judged. */
  models: Readonly<Record<string, LooseModel | undefined>> | undefined;
  objectives: Readonly<Record<string, LooseObjective | undefined>>;
  clients: Readonly<Record<string, Partial<ClientConfig> | undefined>>;
}

type Shape = Readonly<Record<string, z.ZodType>>;

/** The well-formed parts of a document the schema refused (its names are kept even where the value is malformed). */
export function looseConfig(source: unknown): LooseConfig {
  const doc = asRecord(source);
  const models = doc?.models === undefined ? {} : asRecord(doc.models);
  return {
    models: models && mapValues(models, looseModel),
    objectives: mapValues(asRecord(doc?.objectives) ?? {}, looseObjective),
    clients: mapValues(asRecord(doc?.clients) ?? {}, (raw) => fields(Client.shape, raw) as Partial<ClientConfig>),
  };
}

function looseModel(raw: unknown): LooseModel | undefined {
  const whole = Model.safeParse(raw);
  if (whole.success) return whole.data;
  const model = fields(Model.shape, raw) as LooseModel | undefined;
  if (model === undefined || model.versions !== undefined) return model;
  const versions = asRecord(asRecord(raw)?.versions);
  const version = Model.shape.versions.valueType;
  return { ...model, versions: versions && mapValues(versions, (v) => parsed(version, v)) };
}

function looseObjective(raw: unknown): LooseObjective | undefined {
  const whole = Objective.safeParse(raw);
  if (whole.success) return whole.data;
  const o = fields(Objective.shape, raw) as LooseObjective | undefined;
  const record = asRecord(raw);
  if (o === undefined || record === undefined) return o;
  // Lists whose one bad entry would otherwise hide every other entry from the checks.
  const shape = Objective.shape;
  return {
    ...o,
    rules: o.rules ?? entries(shape.rules.unwrap().element, record.rules),
    experiments: o.experiments ?? entries(shape.experiments.unwrap().element, record.experiments),
    shadow: o.shadow ?? entries(shape.shadow.unwrap().element, record.shadow),
    pins: o.pins ?? pinsOf(shape.pins.unwrap().valueType, record.pins),
  };
}

/** Each field of an object schema parsed alone; the malformed ones left out. */
function fields(shape: Shape, raw: unknown): Record<string, unknown> | undefined {
  const record = asRecord(raw);
  if (record === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    const r = schema.safeParse(record[key]);
    if (r.success && r.data !== undefined) out[key] = r.data;
  }
  return out;
}

function entries<T>(schema: z.ZodType<T>, raw: unknown): (T | undefined)[] | undefined {
  return Array.isArray(raw) ? raw.map((item) => parsed(schema, item)) : undefined;
}

function pinsOf(schema: z.ZodType<string>, raw: unknown): Record<string, string | undefined> | undefined {
  const record = asRecord(raw);
  return record && mapValues(record, (v) => parsed(schema, v));
}

function parsed<T>(schema: z.ZodType<T>, raw: unknown): T | undefined {
  const r = schema.safeParse(raw);
  return r.success ? r.data : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** fromEntries, not assignment: a "__proto__" key stays a key. */
function mapValues<T>(record: Record<string, unknown>, f: (value: unknown) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));
}
