// Token limits at admission (SPEC §16): a client's `rateLimit.tpm` and an
// objective's `rateLimit.tpm` (every client together), for calls to objectives
// of interface `openai` (the only ones with tokens). Before the call is sent,
// what it says it will use (token-estimate.ts) is reserved from every limit
// that applies, all or none; when the response closes the reservation is
// settled with what the upstream reported:
//
// - usage reported: the difference is given back, or taken (never past an
//   empty limit);
// - a cache hit: everything is given back (it cost no tokens);
// - no upstream answer (refused, failed, the caller left first), or an upstream
//   error reply without usage: everything is given back;
// - an answer without usage (a stream without include_usage, a reply cut
//   short): the reservation stands.
//
// Over a limit: 429 token_limit_exceeded with Retry-After (when the tokens
// will be back); a call reserving more than a whole minute of a limit never
// fits and is refused without one. The state of the tightest limit goes on the
// admission (and on a refusal), for faces that report it (OpenAI's headers).
import type { IncomingHttpHeaders } from 'node:http';
import type { AdmitAsk, TokenLimitState } from '../call/hooks.js';
import { JunctionError } from '../errors.js';
import type { RequestRecord } from '../observe/record.js';
import type { Telemetry } from '../observe/telemetry.js';
import type { CompiledObjective } from '../routing/types.js';
import { estimateTokens, reservationOf, type TokenEstimate } from './token-estimate.js';
import { remainingOf, WINDOW_MICROS, type TokenDecision, type TokenLimit, type TokenLimiter } from './token-limiter.js';

/** 429 token_limit_exceeded, with the state of the limit that refused (absent when the call can never fit). */
export class TokenLimitExceeded extends JunctionError {
  constructor(
    message: string,
    objective: string,
    retryAfterSeconds: number | undefined,
    readonly tokens: TokenLimitState | undefined,
  ) {
    super('token_limit_exceeded', message, { objective, retryAfterSeconds });
  }
}

/** The token limit a refusal reports, if it is one. */
export function refusedTokenLimit(err: unknown): TokenLimitState | undefined {
  return err instanceof TokenLimitExceeded ? err.tokens : undefined;
}

export interface TokenReservation {
  /** The tightest limit after this reservation. */
  readonly state: TokenLimitState;
  /** The request ended: settle with what `record` says it used. Once; later calls do nothing. */
  readonly end: () => void;
}

/** Usage beyond this is not believed as such: it empties the limit all the same. */
const MAX_SETTLED = 1e15;

export class TokenLimits {
  constructor(
    private readonly limiter: TokenLimiter,
    private readonly telemetry: Telemetry,
  ) {}

  /**
   * Reserves this call's tokens, or throws 429; undefined (synchronously)
   * when no token limit applies. `client` is undefined for a caller without one.
   */
  reserve(
    client: { name: string; tpm: number | undefined } | undefined,
    o: CompiledObjective,
    headers: IncomingHttpHeaders,
    ask: AdmitAsk | undefined,
    record: RequestRecord,
  ): Promise<TokenReservation> | undefined {
    if (o.interface !== 'openai') return undefined;
    const objectiveTpm = o.config.rateLimit?.tpm;
    const clientTpm = client?.tpm;
    if (objectiveTpm === undefined && clientTpm === undefined) return undefined;
    const limits: TokenLimit[] = [];
    if (clientTpm !== undefined) limits.push({ key: `c:${client!.name}`, tpm: clientTpm });
    if (objectiveTpm !== undefined) limits.push({ key: `o:${o.name}`, tpm: objectiveTpm });
    const estimate = estimateTokens(headers, ask, o.name);
    const tightest = Math.min(...limits.map((l) => l.tpm));
    const tokens = reservationOf(estimate, tightest);
    const who = client?.name ?? 'anonymous';
    if (tokens > tightest) {
      const l = limits.find((x) => x.tpm === tightest)!;
      this.telemetry.rejection(o.name, who, 'token_limit_exceeded');
      throw new TokenLimitExceeded(
        `${whose(l)} allows ${l.tpm} tokens per minute; this call reserves ${tokens} (${spelled(estimate)}), so it can never fit: lower max_tokens or send less`,
        o.name,
        undefined,
        undefined,
      );
    }
    const decided = this.limiter.reserve(limits, tokens);
    const settleOn = (d: TokenDecision) => this.admitted(d, limits, tokens, o.name, who, record);
    return decided instanceof Promise ? decided.then(settleOn) : Promise.resolve(settleOn(decided));
  }

  private admitted(
    d: TokenDecision,
    limits: readonly TokenLimit[],
    tokens: number,
    objective: string,
    who: string,
    record: RequestRecord,
  ): TokenReservation {
    if (!d.allowed) {
      // The limit that refused: the one whose tokens come back last.
      let at = 0;
      let latest = -Infinity;
      limits.forEach((l, i) => {
        const over = d.backlogs[i]! + (tokens * WINDOW_MICROS) / l.tpm;
        if (over > latest) [at, latest] = [i, over];
      });
      const l = limits[at]!;
      const state = stateOf(l, d.backlogs[at]!);
      this.telemetry.rejection(objective, who, 'token_limit_exceeded');
      throw new TokenLimitExceeded(
        `${whose(l)} is over its token limit (${l.tpm} tokens per minute): this call reserves ${tokens}, ${state.remaining} are left`,
        objective,
        d.retryAfterSeconds,
        state,
      );
    }
    let state = stateOf(limits[0]!, d.backlogs[0]!);
    for (let i = 1; i < limits.length; i++) {
      const s = stateOf(limits[i]!, d.backlogs[i]!);
      if (s.remaining < state.remaining) state = s;
    }
    let ended = false;
    return {
      state,
      end: () => {
        if (ended) return;
        ended = true;
        const used = usedBy(record);
        if (used !== undefined && used !== tokens) this.limiter.settle(limits, used - tokens, d.where);
      },
    };
  }
}

/** What the call used, as far as known when it ended; undefined: not known (the reservation stands). */
function usedBy(record: RequestRecord): number | undefined {
  if (record.cache === 'hit') return 0;
  if (record.upstreamMs === undefined) return 0; // no upstream answered: refused, failed, or the caller left first
  if (record.usage !== undefined) return Math.min(MAX_SETTLED, record.usage.prompt + record.usage.completion);
  return record.status >= 400 ? 0 : undefined;
}

function stateOf(l: TokenLimit, backlogMicros: number): TokenLimitState {
  return { limit: l.tpm, remaining: remainingOf(l, backlogMicros), resetSeconds: backlogMicros / 1e6 };
}

function whose(l: TokenLimit): string {
  return l.key.startsWith('c:') ? `client "${l.key.slice(2)}"` : `objective "${l.key.slice(2)}"`;
}

function spelled(e: TokenEstimate): string {
  const answer = e.output === undefined ? 'the default answer' : `${e.output * e.choices} for the answer`;
  return `about ${e.prompt} for a prompt of ${e.bytes} bytes and ${answer}`;
}
