// Contract types the request path is handed by whoever assembles a Junction:
// the admission hook (tenancy/ implements it) and the logger (observe/ makes
// one). They live in the contract layer so control/, observe/ and tenancy/ can
// name them without importing an HTTP server (docs/architecture.md, layers).
import type { Operation } from '../config/protocols/declaration.js';
import type { RequestBody } from './body.js';

export interface Admission {
  /** The client may use x-model-override. */
  mayOverride: boolean;
  /** The client's name (never its key), carried on the call for bulkheads and telemetry. */
  client?: string | undefined;
  /** Who is refused first when an objective is overloaded. */
  priority?: 'critical' | 'default' | 'sheddable' | undefined;
  /** Gives back what admission took (a concurrency slot); called once the response is closed. */
  release?: (() => void) | undefined;
  /** The targets an override may name on this objective (those of objectives the caller may call, same interface). */
  overrideTargets?: ReadonlySet<string> | undefined;
  /** The token limit this call reserved from (tenancy/token-limits.ts), for faces that report it; also asks for its usage. */
  tokens?: TokenLimitState | undefined;
  /** Budgets past their warnAt (tenancy/budgets.ts): the answer's x-junction-budget-warning. */
  budgetWarning?: string | undefined;
}

/** What admission is told of a call beyond its headers: token limits read the body a face already holds. */
export interface AdmitAsk {
  readonly operation: Operation;
  /** The body, when the face read it before admission (OpenAI, Anthropic); else it streams after. */
  readonly body?: RequestBody | undefined;
}

/** A tokens-per-minute limit as a caller is told it (OpenAI's x-ratelimit-*-tokens): the tightest one applying. */
export interface TokenLimitState {
  /** Tokens per minute. */
  readonly limit: number;
  /** Tokens left now (after this call's reservation, or at its refusal). */
  readonly remaining: number;
  /** Seconds until the limit is whole again. */
  readonly resetSeconds: number;
}

/** Who is calling, known from the key alone (before any body is read). */
export interface Caller {
  /** The client's name; undefined when auth is off or the caller is anonymous. */
  client: string | undefined;
  /** Objective globs of the client (everything for an anonymous caller). */
  mayCall: (objective: string) => boolean;
}

/** A caller when auth is off or anonymous access is allowed: no name, every objective. */
export const OPEN_CALLER: Caller = Object.freeze({ client: undefined, mayCall: () => true });

/**
 * A caller admitted to a data-plane route that invokes no objective (decide,
 * exposures, feedback, the snapshot, explain, /metrics): the key was checked,
 * one unit of the client's rate taken and one of its concurrency slots is held
 * until the response closes. The same limits as an objective call.
 */
export interface AdmittedCaller extends Caller {
  /**
   * Takes `units` more of the client's rate, all or none (the items of a batch
   * beyond the first, known once the body is parsed); throws 429
   * `rate_limited` with Retry-After when they do not fit.
   */
  take(units: number): Promise<void> | void;
  /** Gives the concurrency slot back (the data plane calls it once the response is closed); idempotent. */
  release(): void;
}

/** The admitted caller when auth is off or the caller is anonymous: no limits to take. */
export const OPEN_ADMITTED: AdmittedCaller = Object.freeze({
  client: undefined,
  mayCall: () => true,
  take: () => undefined,
  release: () => undefined,
});

export interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}
