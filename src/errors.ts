// Every error Junction itself produces, declared once (SPEC §2.5). Code that fails
// throws a JunctionError with one of these codes; http/error-reply.ts is the one
// place that turns it into an HTTP response, in the shape each face declares.
// It imports nothing from src/: every layer may use it (docs/architecture.md).

export const ERRORS = {
  invalid_request: { status: 400, summary: 'bad header value, malformed body where Junction must read it' },
  unauthorized: { status: 401, summary: 'missing or unknown API key' },
  forbidden: { status: 403, summary: 'key not allowed on this objective' },
  override_forbidden: { status: 403, summary: 'caller may not override the routing decision' },
  objective_not_found: { status: 404, summary: 'no objective by that name' },
  not_found: { status: 404, summary: 'no such route' },
  rollout_refused: {
    status: 409,
    summary: 'a rollout start refused: it reaches no live unit or has no health gate; force it with a reason',
  },
  method_not_allowed: { status: 405, summary: 'the objective does not accept this method' },
  payload_too_large: { status: 413, summary: "body over the objective's maxBodyBytes" },
  experiment_break_unacknowledged: {
    status: 409,
    summary:
      'a config change moves units exposed to an experiment to another cell; acknowledge the experiment to apply it',
  },
  rate_limited: { status: 429, summary: 'client over its rate limit; see Retry-After' },
  token_limit_exceeded: {
    status: 429,
    summary: 'client or objective over its tokens per minute (tpm); see Retry-After',
  },
  budget_exceeded: { status: 429, summary: 'a spend budget is used up; the message names it and when it resets' },
  upstream_error: { status: 502, summary: 'backend unreachable or broke the protocol, no fallback left' },
  overloaded: { status: 503, summary: 'concurrency or queue limit hit' },
  no_healthy_backend: { status: 503, summary: 'every endpoint ejected and no fallback' },
  not_ready: { status: 503, summary: 'no config loaded yet' },
  deadline_exceeded: {
    status: 504,
    summary: 'the budget ran out (timeoutMs before the reply started, replyTimeoutMs after)',
  },
  request_timeout: { status: 408, summary: 'the request body arrived slower than the minimum rate' },
  client_closed: { status: 499, summary: 'recorded only: the caller left before the reply ended; never a success' },
  internal: { status: 500, summary: 'a bug in Junction; the request id finds it in the logs' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetails {
  objective?: string;
  retryAfterSeconds?: number;
  /** Set when the error happened after a routing decision, so the reply still says who was tried. */
  cause?: unknown;
  /** Every problem found (config validation): each with its path and what to fix. */
  issues?: ReadonlyArray<{ path: string; message: string }>;
}

export class JunctionError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly objective: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly issues: ErrorDetails['issues'];

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'JunctionError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.objective = details.objective;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.issues = details.issues;
  }
}

export function isJunctionError(err: unknown): err is JunctionError {
  return err instanceof JunctionError;
}

/** Anything thrown becomes a JunctionError; unknown failures are `internal`. */
export function toJunctionError(err: unknown): JunctionError {
  if (err instanceof JunctionError) return err;
  // A refused config met on a request path (admin API) is the caller's error, issues attached.
  if (err instanceof ConfigError)
    return new JunctionError('invalid_request', err.message, { issues: err.issues, cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new JunctionError('internal', message, { cause: err });
}

/** A config problem: where it is and what to do about it. */
export interface ConfigIssue {
  /** Dotted path into the config, e.g. `objectives.cw.experiments[0].cells`. */
  path: string;
  message: string;
  /** Where the path is written in the submitted text (1-based), when the text is known and has it. */
  line?: number;
  column?: number;
  /** false: the text is known but does not write this path (a default applies, or a required key is missing). */
  inText?: false;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `${i.path}: ${i.message}${i.line === undefined ? '' : ` (line ${i.line}, column ${i.column})`}`)
    .join('\n');
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
