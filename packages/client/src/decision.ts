// What `decide` returns. Built once per routing outcome (and per "had a unit
// or not", which changes x-decision) and shared, so deciding allocates nothing
// once a revision is warm.
import { onlyThroughJunction } from '../../../src/backends/protocols/direct.js';
import { servedModel, servedVersion } from '../../../src/backends/protocols/names.js';
import type { Outcome } from '../../../src/routing/types.js';

/**
 * An `oip-grpc` target a caller may call itself with a gRPC client: straight
 * at `endpoints`, or through nginx's gRPC listener (`junction export nginx
 * --grpc-listen`) with the metadata `x-junction-target: routingKey`. Neither
 * path rewrites the message as Junction does, so `model_name` and
 * `model_version` must be the backend's own: `model` and `version`.
 */
export interface GrpcTarget {
  /** The replicas, `grpc://host:port` (or `grpcs://` for TLS with public CAs). */
  readonly endpoints: readonly string[];
  /** What to put in ModelInferRequest.model_name: the name the model server knows the model by. */
  readonly model: string;
  /** What to put in ModelInferRequest.model_version ('' lets the server pick). */
  readonly version: string;
}

export interface Decision {
  readonly objective: string;
  /** `model@version`. */
  readonly target: string;
  readonly model: string;
  readonly version: string;
  /** The value of `x-junction-target`: what a header-routed proxy routes on (the target id). */
  readonly routingKey: string;
  /** `override`, `pin`, `rule:<id>`, `experiment:<id>`, `rollout`, `default`. */
  readonly rule: string;
  readonly experiment: string | null;
  readonly cell: string | null;
  /**
   * The balancer the cell or rollout candidate names (`use: { target, balance }`), else null.
   * Only Junction's backends pick replicas by it: `invoke` calling `endpoints` directly ignores it.
   */
  readonly balance: string | null;
  readonly revision: number;
  /** A remote HTTP target the SDK can call directly; false for in-process (ONNX) targets, which only Junction can run. */
  readonly remote: boolean;
  /** The target's wire protocol (`oip`, `openai`, `tfserving`, `raw`), or null when it runs in Junction's process. */
  readonly protocol: string | null;
  /** Base URLs of the target's replicas when `remote` (empty for in-process targets and those only Junction can reach). */
  readonly endpoints: readonly string[];
  /**
   * For an `oip-grpc` target that needs nothing only Junction holds (credentials, TLS
   * files): where and how a gRPC client calls it itself. Null otherwise: `invoke`
   * (through Junction) or Junction's gRPC port serve such targets.
   */
  readonly grpc: GrpcTarget | null;
  /** What the server would send: `x-model`, `x-decision`, and `x-junction-target` for a header-routed proxy. */
  readonly headers: Readonly<Record<'x-model' | 'x-decision' | 'x-junction-target', string>>;
}

export function decisionOf(o: Outcome, hadUnit: boolean): Decision {
  const backend = o.target.backend;
  // Called directly only when nothing but Junction is needed to reach it (no credentials, plain HTTP).
  const remote = backend.type === 'http' && onlyThroughJunction(backend) === undefined;
  const grpc =
    backend.type === 'http' && onlyThroughJunction(backend, 'grpc') === undefined
      ? Object.freeze({
          endpoints: Object.freeze([...backend.endpoints]),
          model: servedModel(backend, o.target),
          version: servedVersion(backend, o.target),
        })
      : null;
  return Object.freeze({
    objective: o.objective,
    target: o.target.id,
    model: o.target.model,
    version: o.target.version,
    routingKey: o.target.id,
    rule: o.rule,
    experiment: o.experiment ?? null,
    cell: o.cell ?? null,
    balance: o.balance ?? null,
    revision: o.revision,
    remote,
    protocol: backend.type === 'http' ? backend.protocol : null,
    endpoints: Object.freeze(remote ? [...backend.endpoints] : []),
    grpc,
    headers: Object.freeze({
      'x-model': o.target.id,
      'x-decision': hadUnit ? o.header : o.headerNoUnit,
      'x-junction-target': o.target.id,
    }),
  });
}

/** Per-client cache of decisions by outcome (outcomes are built once per revision, so old ones are collected with it). */
export class DecisionCache {
  private readonly withUnit = new WeakMap<Outcome, Decision>();
  private readonly withoutUnit = new WeakMap<Outcome, Decision>();

  get(o: Outcome, hadUnit: boolean): Decision {
    const map = hadUnit ? this.withUnit : this.withoutUnit;
    let d = map.get(o);
    if (d === undefined) map.set(o, (d = decisionOf(o, hadUnit)));
    return d;
  }
}
