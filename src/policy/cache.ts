// The response cache (SPEC §16, objective `cache`): a deterministic request
// (cache-key.ts) answered before, by the same routed target, for the same
// normalized request, is answered again from the store (cache-store.ts)
// without a call: same status, content type and body (KEPT_HEADERS) — a
// stream replayed as the same SSE bytes — with `x-cache: hit`. A miss goes
// on and its reply is kept when it is whole, a 2xx, from the decided target
// (never a fallback's: it would poison the decided target's key), not
// `no-store`/`private`, not content-encoded (the next caller may not accept
// that encoding), and within `maxBytes`; a stream is copied on the side as it
// goes to the caller, up to `maxBytes` and dropped past it, and kept only
// once it ended whole.
//
// The request's record says `cache: hit|miss|bypass` (the decision log writes
// it, metrics count it); a hit goes through admission and routing like any
// call, so it is an exposure, and reports no usage, so it costs no tokens.
import type { Readable } from 'node:stream';
import type { Call, HeaderMap, Policy, Reply, Send } from '../call/types.js';
import type { CacheConfig } from '../config/schema.js';
import type { RequestRecord } from '../observe/record.js';
import { bypassedBefore, cacheKey, hasDirective } from './cache-key.js';
import type { CachedReply, CacheEntry, ResponseCache } from './cache-store.js';

type CacheResult = NonNullable<RequestRecord['cache']>;

/**
 * The reply headers a hit replays: how to read the body (its type, and where an
 * OIP binary reply's JSON header ends). Nothing else of the first caller's
 * reply (request ids, timings, the upstream's own headers) is replayed.
 */
const KEPT_HEADERS = ['content-type', 'inference-header-content-length'] as const;

export function responseCache(cfg: CacheConfig, store: ResponseCache): Policy {
  const ttlMs = cfg.ttlSeconds * 1000;
  return (next) => (call) => {
    if (bypassedBefore(call, cfg) !== undefined) return passBy(next, call);
    return call.body.readAll().then((raw) => {
      const key = cacheKey(call, cfg, raw);
      if (key === undefined) return passBy(next, call);
      const found = store.get(key);
      if (found instanceof Promise) return found.then((entry) => answer(next, call, store, key, entry, cfg, ttlMs));
      return answer(next, call, store, key, found, cfg, ttlMs);
    });
  };
}

function answer(
  next: Send,
  call: Call,
  store: ResponseCache,
  key: string,
  entry: CacheEntry | undefined,
  cfg: CacheConfig,
  ttlMs: number,
): Reply | Promise<Reply> {
  if (entry !== undefined) {
    note(call, 'hit');
    return replay(entry, store);
  }
  note(call, 'miss');
  return next(call).then((reply) => {
    if (storable(reply)) whenWhole(reply, cfg.maxBytes, (body) => store.set(key, replyOf(reply, body), ttlMs));
    return marked(reply, 'miss');
  });
}

function passBy(next: Send, call: Call): Promise<Reply> {
  note(call, 'bypass');
  return next(call).then((reply) => marked(reply, 'bypass'));
}

function note(call: Call, result: CacheResult): void {
  if (call.record !== undefined) call.record.cache = result;
}

/** The reply with `x-cache`; a copy, never the reply's own headers (a static fallback's are shared). */
function marked(reply: Reply, result: CacheResult): Reply {
  return { ...reply, headers: { ...reply.headers, 'x-cache': result } };
}

function replay(entry: CacheEntry, store: ResponseCache): Reply {
  const headers: HeaderMap = { ...entry.headers, 'x-cache': 'hit', age: String(Math.floor(store.ageMs(entry) / 1000)) };
  return { status: entry.status, headers, body: entry.body };
}

function storable(reply: Reply): boolean {
  if (reply.fallback !== undefined || reply.status < 200 || reply.status >= 300 || reply.trailers !== undefined)
    return false;
  const cc = reply.headers['cache-control'];
  if (hasDirective(cc, 'no-store') || hasDirective(cc, 'private')) return false;
  const encoding = reply.headers['content-encoding'];
  return encoding === undefined || encoding === '' || encoding === 'identity';
}

function replyOf(reply: Reply, body: Buffer): CachedReply {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const v = reply.headers[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { status: reply.status, headers, body };
}

/**
 * Calls `keep` with the whole body once the caller's copy has ended whole,
 * never if it is larger than `maxBytes`, errors or is cut (deadline, caller gone).
 */
function whenWhole(reply: Reply, maxBytes: number, keep: (body: Buffer) => void): void {
  const body = reply.body;
  if (body === null) keep(Buffer.alloc(0));
  else if (Buffer.isBuffer(body)) {
    if (body.length <= maxBytes) keep(body);
  } else teeWhole(body, maxBytes, keep);
}

/**
 * A 'data' listener next to the reply writer's pipe, as the usage reader does:
 * the stream is neither delayed nor copied past `maxBytes`. Paused first:
 * adding a 'data' listener would otherwise set the stream flowing before the
 * reply writer pipes it (its chunks lost to the caller); the pipe resumes it.
 */
function teeWhole(body: Readable, maxBytes: number, keep: (body: Buffer) => void): void {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > maxBytes) drop();
    else chunks?.push(bytes);
  };
  const onEnd = () => {
    const whole = chunks;
    drop();
    if (whole !== undefined) keep(Buffer.concat(whole, size));
  };
  const drop = () => {
    chunks = undefined;
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('close', drop);
  };
  body.pause();
  body.on('data', onData);
  body.on('end', onEnd);
  // Closed without its end (an error, a deadline cut, the caller gone): nothing is kept.
  body.on('close', drop);
}
