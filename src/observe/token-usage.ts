// Token usage reported by an OpenAI-compatible backend (SPEC §2.2), read on
// the side of the reply: a 'data' listener next to the pipe to the caller, so
// the stream is neither delayed nor buffered — only the last TAIL_BYTES are
// kept, where the usage is (a JSON body's `usage` field, a chat stream's final
// usage chunk, the Responses API's response.completed event). Parsed once,
// when the reply ends; a body without usage leaves the record's usage unset.
// A streamed reply's events are counted on the way (a few indexOf per chunk):
// the cost's estimate when the stream reports no usage (observe/cost.ts).
import type { Readable } from 'node:stream';
import type { Reply } from '../call/types.js';
import type { RequestRecord, TokenUsage } from './record.js';

export type { TokenUsage };

/** Enough for the final usage chunk or the tail of a response object; bounds what is held per request. */
const TAIL_BYTES = 16 * 1024;
/** Where a Messages stream's message_start (and its input tokens) is: the first event. */
const HEAD_BYTES = 4 * 1024;
/** How many `"usage"` occurrences to try from the end (e.g. `"usage": null` in earlier stream events). */
const MAX_TRIES = 4;
/** More tokens than any one call has: a count past it is absurd and read as no usage at all (SPEC §16). */
export const MAX_TOKENS = 1e9;
/** An SSE event's data line (after a line break): counted per chunk, for the estimate of a stream without usage. */
const DATA_LINE = '\ndata:';

/** Attaches the side reader: `record.usage` is set when the reply body ends. */
export function readUsageOnTheSide(body: Reply['body'], record: RequestRecord): void {
  if (body === null) return;
  if (Buffer.isBuffer(body)) {
    const usage = usageInText(
      body.length > TAIL_BYTES ? body.toString('utf8', body.length - TAIL_BYTES) : body.toString('utf8'),
    );
    if (usage !== undefined) record.usage = usage;
    return;
  }
  const tail: Array<Buffer | string> = [];
  let held = 0;
  const stream: Readable = body;
  stream.on('data', (chunk: Buffer | string) => {
    countEvents(chunk, record);
    tail.push(chunk);
    held += chunk.length;
    while (tail.length > 1 && held - tail[0]!.length >= TAIL_BYTES) held -= tail.shift()!.length;
  });
  stream.once('end', () => {
    const text = tail.every((c) => Buffer.isBuffer(c))
      ? Buffer.concat(tail).toString('utf8')
      : tail.map(String).join('');
    const usage = usageInText(text);
    if (usage !== undefined) record.usage = usage;
  });
}

/**
 * The last well-formed `"usage": {…}` object in the text, in either naming
 * (chat: prompt/completion with `prompt_tokens_details.cached_tokens`;
 * Responses: input/output with `input_tokens_details.cached_tokens`).
 */
export function usageInText(text: string): TokenUsage | undefined {
  return lastUsage(text, (value) => {
    const prompt = value.prompt_tokens ?? value.input_tokens;
    const completion = value.completion_tokens ?? value.output_tokens ?? 0; // embeddings have no completion
    if (!isCount(prompt) || !isCount(completion)) return undefined;
    const details = value.prompt_tokens_details ?? value.input_tokens_details;
    const cached = isObject(details) ? details.cached_tokens : undefined;
    return withCached({ prompt, completion }, cached);
  });
}

/** `cached` kept when it is a count within the prompt (a cached count past the prompt is absurd: dropped). */
function withCached(usage: TokenUsage, cached: unknown): TokenUsage {
  if (isCount(cached) && cached > 0 && cached <= usage.prompt) usage.cached = cached;
  return usage;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Usage in an Anthropic Messages answer: a message's `usage`, or a stream's —
 * `message_start` carries the input tokens (in `head`), the last
 * `message_delta` the output tokens (in `tail`). Anthropic's input_tokens
 * leave out cached tokens, so the prompt is input + cache reads + cache
 * writes, and the cache reads (`cache_read_input_tokens`) are its cached part.
 */
export function messagesUsageInText(head: string, tail: string): TokenUsage | undefined {
  const count = (v: unknown) => (isCount(v) ? v : 0);
  const input = (value: Record<string, unknown>) =>
    isCount(value.input_tokens)
      ? {
          prompt: value.input_tokens + count(value.cache_read_input_tokens) + count(value.cache_creation_input_tokens),
          cached: count(value.cache_read_input_tokens),
        }
      : undefined;
  const inHead = lastUsage(head, input);
  const output = lastUsage(tail, (value) => (isCount(value.output_tokens) ? value.output_tokens : undefined));
  if (output === undefined) return undefined;
  // A whole message has both in one object; a stream's final delta may repeat the input (newer API versions) or not.
  const inTail = lastUsage(tail, input);
  const prompt = inTail !== undefined && inTail.prompt > 0 ? inTail : inHead;
  if (prompt === undefined || prompt.prompt > MAX_TOKENS) return undefined;
  return withCached({ prompt: prompt.prompt, completion: output }, prompt.cached);
}

/** Attaches the side reader for Anthropic Messages answers: the stream's head (its message_start) and tail are kept. */
export function readMessagesUsageOnTheSide(body: Reply['body'], record: RequestRecord): void {
  if (body === null) return;
  if (Buffer.isBuffer(body)) {
    const text = body.length > TAIL_BYTES ? body.toString('utf8', body.length - TAIL_BYTES) : body.toString('utf8');
    const usage = messagesUsageInText(text, text);
    if (usage !== undefined) record.usage = usage;
    return;
  }
  let head = '';
  const tail: Buffer[] = [];
  let held = 0;
  body.on('data', (chunk: Buffer | string) => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    countEvents(b, record);
    if (head.length < HEAD_BYTES) head += b.toString('utf8', 0, Math.min(b.length, HEAD_BYTES - head.length));
    tail.push(b);
    held += b.length;
    while (tail.length > 1 && held - tail[0]!.length >= TAIL_BYTES) held -= tail.shift()!.length;
  });
  body.once('end', () => {
    const usage = messagesUsageInText(head, Buffer.concat(tail).toString('utf8'));
    if (usage !== undefined) record.usage = usage;
  });
}

/**
 * Adds the `data:` lines of a chunk to `record.events`: at its start or after a
 * line break (never inside a JSON string, whose line breaks are escaped). As
 * the chunks pass, so a stream cut or left by its caller is counted as far as
 * it went. A line split across chunks may be missed: this is an estimate.
 */
function countEvents(chunk: Buffer | string, record: RequestRecord): void {
  let n = chunk.indexOf('data:') === 0 ? 1 : 0;
  for (let at = chunk.indexOf(DATA_LINE); at >= 0; at = chunk.indexOf(DATA_LINE, at + DATA_LINE.length)) n++;
  if (n > 0) record.events = (record.events ?? 0) + n;
}

/** The last `"usage": {…}` object in the text that `read` accepts (a few tries from the end). */
function lastUsage<T>(text: string, read: (value: Record<string, unknown>) => T | undefined): T | undefined {
  let from = text.length;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const at = text.lastIndexOf('"usage"', from);
    if (at < 0) return undefined;
    from = at - 1;
    if (at > 0 && text.charCodeAt(at - 1) === 92 /* \ : inside a string */) continue;
    const value = parseUsageObject(text, at + 7);
    const usage = value === undefined ? undefined : read(value);
    if (usage !== undefined) return usage;
  }
  return undefined;
}

function parseUsageObject(text: string, after: number): Record<string, unknown> | undefined {
  let i = after;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  if (text[i] !== ':') return undefined;
  i++;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  if (text[i] !== '{') return undefined;
  const end = matchingBrace(text, i);
  if (end < 0) return undefined;
  try {
    const value = JSON.parse(text.slice(i, end + 1)) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A token count as a server may report it: a whole number from 0 to MAX_TOKENS (else the usage is absurd). */
function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_TOKENS;
}

/** Index of the `}` closing the object opened at `open`, skipping strings; -1 when it is cut off. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */) {
      depth++;
    } else if (c === 125 /* } */) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}
