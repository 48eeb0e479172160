// What a call says it will use, read at admission without parsing it: the
// prompt is estimated from the body's size, the answer from its own limit.
//
// - Prompt: bytes ÷ 4, rounded up (about 4 bytes a token for English text in
//   the common tokenizers). The bytes are the body a face already read
//   (OpenAI, Anthropic), else the declared content-length of a body that will
//   stream (Junction's own face), else nothing (a chunked body: the
//   settlement counts it). JSON syntax makes it count high, which is the safe
//   side; inline images (base64) count very high until the usage settles.
// - Answer: `max_completion_tokens`, `max_output_tokens` or `max_tokens` (the
//   first given), times `n` for chat and completions; embeddings answer no
//   tokens. Not a number (absent, a string, null): DEFAULT_OUTPUT_TOKENS, cut
//   to what the limit has room for, so a call that says nothing always fits.
//   Negative: 0 (the upstream refuses it). Fractional: rounded up. Above the
//   limit, or 1e400: the call can never fit and is refused as too large.
import type { IncomingHttpHeaders } from 'node:http';
import type { AdmitAsk } from '../call/hooks.js';
import { topLevelFields, type ValueSpan } from '../backends/protocols/json-field.js';

export const BYTES_PER_TOKEN = 4;
/** The answer reserved for a call that gives no limit of its own (cut to what the limit has room for). */
export const DEFAULT_OUTPUT_TOKENS = 1024;
/** Most choices (`n`) counted: OpenAI's own bound. */
const MAX_CHOICES = 128;
/** Counts are held below this, so sums stay exact; far above any tpm (1e12 at most). */
const MAX_COUNT = 1e15;

/** In the order they are preferred: the newer chat name, Responses' name, then the old one (completions, Messages). */
const FIELDS: readonly string[] = ['max_completion_tokens', 'max_output_tokens', 'max_tokens', 'n'];

export interface TokenEstimate {
  /** Tokens of the prompt (from its bytes). */
  prompt: number;
  /** Bytes the prompt was estimated from (for messages). */
  bytes: number;
  /** Tokens of the answer the call asked for; undefined: it did not say. */
  output: number | undefined;
  /** Answers it asked for (`n`), at least 1. */
  choices: number;
}

export function estimateTokens(
  headers: IncomingHttpHeaders,
  ask: AdmitAsk | undefined,
  objective: string,
): TokenEstimate {
  const held = ask?.body?.replayable === true ? (ask.body.open() as Buffer) : undefined;
  const bytes = held?.length ?? declaredLength(headers);
  const prompt = Math.ceil(bytes / BYTES_PER_TOKEN);
  if (ask?.operation === 'embeddings') return { prompt, bytes, output: 0, choices: 1 };
  if (held === undefined || !mentionsAny(held)) return { prompt, bytes, output: undefined, choices: 1 };
  // The body was checked whole by the face's scan of `model`; this pass throws only on one of these named twice.
  const [completion, output, max, n] = topLevelFields(held, FIELDS, objective);
  const asked = count(held, completion) ?? count(held, output) ?? count(held, max);
  const choices =
    ask?.operation === 'chat/completions' || ask?.operation === 'completions'
      ? Math.min(MAX_CHOICES, Math.max(1, count(held, n) ?? 1))
      : 1;
  return { prompt, bytes, output: asked, choices };
}

/** Tokens to reserve for `e` under the tightest limit, `limit`: what it said, or the default where it fits. */
export function reservationOf(e: TokenEstimate, limit: number): number {
  if (e.output !== undefined) return Math.min(MAX_COUNT, e.prompt + e.output * e.choices);
  return e.prompt + Math.min(DEFAULT_OUTPUT_TOKENS * e.choices, Math.max(0, Math.floor(limit) - e.prompt));
}

function declaredLength(headers: IncomingHttpHeaders): number {
  const n = Number(headers['content-length']);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** A native search first: most calls need no scan when none of the fields is written anywhere. */
function mentionsAny(raw: Buffer): boolean {
  return raw.includes('"max_') || raw.includes('"n"');
}

/** A JSON number's value as a count: undefined when not a number; negative → 0; fractional → up; huge → MAX_COUNT. */
function count(raw: Buffer, span: ValueSpan | undefined): number | undefined {
  if (span === undefined || span.isString) return undefined;
  const c = raw[span.start];
  if (c !== 0x2d /* - */ && (c === undefined || c < 0x30 || c > 0x39)) return undefined; // true, false, null, {…}, […]
  const v = Number(raw.toString('latin1', span.start, span.end));
  if (Number.isNaN(v)) return undefined;
  return v <= 0 ? 0 : Math.min(MAX_COUNT, Math.ceil(v));
}
