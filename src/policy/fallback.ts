// The fallback chain: the decided target, then each `policy.fallback` target,
// then the optional static answer, tried in order while the budget remains.
// The reply names who answered (`Reply.fallback` → x-fallback header, record).
import { performance } from 'node:perf_hooks';
import type { Call, Policy, Reply } from '../call/types.js';
import type { PolicyConfig } from '../config/schema.js';
import { isJunctionError, toJunctionError } from '../errors.js';
import { NO_TELEMETRY, type FallbackReason, type Telemetry } from '../observe/telemetry.js';
import { inChildSpan } from '../observe/tracing.js';
import type { Target } from '../routing/types.js';
import { attempt, discard } from './attempt.js';

export interface FallbackOptions {
  /** Fallback targets, in order, resolved from the config. */
  targets: readonly Target[];
  static?: PolicyConfig['static'];
  /** Where fallbacks are counted (the Junction's sink). */
  telemetry?: Telemetry;
}

/** Failures that are the caller's, not the target's: another target would fail the same way. */
const CALLER_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'payload_too_large',
  'forbidden',
  'override_forbidden',
]);

export function fallback(opts: FallbackOptions): Policy {
  const telemetry = opts.telemetry ?? NO_TELEMETRY;
  const staticReply = opts.static === undefined ? undefined : buildStatic(opts.static);
  return (next) => async (call) => {
    const chain = opts.targets.filter((t) => t.id !== call.target.id);
    let from = call.target.id;
    let failure: { reply?: Reply; err?: unknown; reason: FallbackReason };
    try {
      const reply = await next(call);
      if (reply.status < 500) return reply;
      failure = { reply, reason: 'error' };
    } catch (err) {
      failure = { err, reason: reasonOf(err) };
    }
    for (const target of chain) {
      if (!mayContinue(call, failure.err)) break;
      telemetry.fallback(call.objective.name, from, target.id, failure.reason);
      if (failure.reply) discard(failure.reply);
      try {
        const reply = await inChildSpan(
          attempt(call, { target }).call,
          `fallback ${target.id}`,
          {
            'junction.fallback.from': from,
            'junction.fallback.reason': failure.reason,
          },
          next,
        );
        if (reply.status < 500) return { ...reply, fallback: target.id };
        failure = { reply: { ...reply, fallback: target.id }, reason: 'error' };
      } catch (err) {
        failure = { err, reason: reasonOf(err) };
      }
      from = target.id;
    }
    if (staticReply !== undefined && mayContinue(call, failure.err)) {
      telemetry.fallback(call.objective.name, from, 'static', failure.reason);
      if (failure.reply) discard(failure.reply);
      return staticReply();
    }
    if (failure.reply) return failure.reply;
    throw failure.err;
  };
}

function mayContinue(call: Call, err: unknown): boolean {
  if (call.signal.aborted || call.deadline - performance.now() <= 0) return false;
  return !(isJunctionError(err) && CALLER_ERRORS.has(err.code));
}

function reasonOf(err: unknown): FallbackReason {
  switch (toJunctionError(err).code) {
    case 'deadline_exceeded':
      return 'timeout';
    case 'no_healthy_backend':
      return 'unhealthy';
    case 'overloaded':
      return 'overloaded';
    default:
      return 'error';
  }
}

/** Statuses that carry no content: their static answer has an empty body (validation refuses a configured one). */
const NO_CONTENT: ReadonlySet<number> = new Set([204, 205, 304]);

/**
 * The static answer, built once. Validation has refused framing headers
 * (content-length, transfer-encoding, …) and Junction's own; names are
 * lowercased so a configured `Content-Type` replaces the default one rather
 * than being sent beside it.
 */
function buildStatic(cfg: NonNullable<PolicyConfig['static']>): () => Reply {
  const empty = NO_CONTENT.has(cfg.status);
  const body = empty
    ? Buffer.alloc(0)
    : Buffer.from(typeof cfg.body === 'string' ? cfg.body : JSON.stringify(cfg.body ?? null));
  const headers: Record<string, string> = empty
    ? {}
    : { 'content-type': typeof cfg.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' };
  for (const [name, value] of Object.entries(cfg.headers ?? {})) headers[name.toLowerCase()] = value;
  return () => ({ status: cfg.status, headers: { ...headers }, body, fallback: 'static' });
}
