// Contract types the request path is handed by whoever assembles a Junction:
// the admission hook (tenancy/ implements it) and the logger (observe/ makes
// one). They live in the contract layer so control/, observe/ and tenancy/ can
// name them without importing an HTTP server (docs/architecture.md, layers).

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

export interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}
