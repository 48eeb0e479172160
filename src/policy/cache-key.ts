// What the response cache may answer, and under which key (SPEC §16).
//
// Cacheable: embeddings; chat completions, completions and Responses calls
// with temperature 0 or a seed; Anthropic Messages with temperature 0;
// inference on objectives of other interfaces marked `cacheable` (their
// answers are deterministic by the operator's word). Only POST, PUT (a body)
// and GET (a query); never a gRPC caller's message (its reply carries trailers).
//
// The key is sha256 over everything that decides the answer: the objective,
// the routed target (so cell B never gets cell A's reply, and a rollout step
// changes what is cached), the operation, method and query, the client when
// the scope is `client`, the few request headers that change how a body is
// read, and the body in canonical JSON (canonical-json.ts) or, when it has
// none, its exact bytes. `stream` stays in the key: a stream and a whole
// answer differ in shape, and each is replayed as it was stored.
import { createHash, type Hash } from 'node:crypto';
import type { Call, Operation } from '../call/types.js';
import type { CacheConfig } from '../config/schema.js';
import { canonicalJson } from './canonical-json.js';

/** Bumped when what goes into a key changes, so no entry of an older form is ever read as a newer one. */
const KEY_FORM = 'junction-cache/1';

const METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'GET']);

/** LLM operations and what makes a call deterministic enough to cache. */
const LLM: ReadonlyMap<Operation, (top: ReadonlyMap<string, string>) => boolean> = new Map([
  ['embeddings', () => true],
  ['chat/completions', greedyOrSeeded],
  ['completions', greedyOrSeeded],
  ['responses', greedyOrSeeded],
  ['messages', greedy],
]);

/** Inference on a `cacheable` objective of another interface (metadata and readiness are not answers). */
const INFERENCE: ReadonlySet<Operation> = new Set(['invoke', 'infer', 'generate', 'generate_stream']);

/**
 * Top-level fields of an LLM call that do not change its answer: the end
 * user's id and free-form tags (OpenAI `user` and `metadata`, Anthropic
 * `metadata.user_id`). Left out so one end user's answer serves another's
 * identical question; with `scope: client` the client still parts them.
 */
const NOT_IN_ANSWER: ReadonlySet<string> = new Set(['user', 'metadata']);

/** Request headers that change how the same body is read (binary tensors, API versions). */
const KEY_HEADERS = [
  'content-type',
  'inference-header-content-length',
  'anthropic-version',
  'anthropic-beta',
  'openai-beta',
] as const;

function greedy(top: ReadonlyMap<string, string>): boolean {
  const t = top.get('temperature');
  return t !== undefined && Number(t) === 0;
}

function greedyOrSeeded(top: ReadonlyMap<string, string>): boolean {
  const seed = top.get('seed');
  return greedy(top) || (seed !== undefined && seed !== 'null');
}

/** Why a request is passed by before its body is read, or undefined when it may be cached. */
export function bypassedBefore(call: Call, cfg: CacheConfig): string | undefined {
  if (refusesCache(call.headers['cache-control'], call.headers.pragma)) return 'no-cache';
  if (!METHODS.has(call.method)) return 'method';
  if (call.body.grpcCaller || !call.body.replayable) return 'body';
  const o = call.objective;
  if (o.interface === 'openai') return LLM.has(call.operation) ? undefined : 'operation';
  return cfg.cacheable && INFERENCE.has(call.operation) ? undefined : 'not-cacheable';
}

/** `cache-control: no-cache` or `no-store` (or HTTP/1.0's `pragma: no-cache`) on a request: neither served from nor written to the cache. */
export function refusesCache(cacheControl: unknown, pragma?: unknown): boolean {
  return (
    hasDirective(cacheControl, 'no-cache') || hasDirective(cacheControl, 'no-store') || hasDirective(pragma, 'no-cache')
  );
}

/** Whether a header value lists a directive (`no-store`, `private`, …), in any case, alone or with an argument. */
export function hasDirective(value: unknown, directive: string): boolean {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : undefined;
  if (text === undefined) return false;
  for (const part of text.toLowerCase().split(',')) {
    const name = part.trim().split('=', 1)[0]!.trim();
    if (name === directive) return true;
  }
  return false;
}

/**
 * The request's key (hex sha256), or undefined when it may not be cached
 * after all: an LLM call that is not deterministic, or whose body cannot be
 * read one way (then its temperature is not known for sure).
 */
export function cacheKey(call: Call, cfg: CacheConfig, raw: Buffer): string | undefined {
  const llm = LLM.get(call.operation);
  const canonical = canonicalJson(raw, llm === undefined ? undefined : NOT_IN_ANSWER);
  if (llm !== undefined && (canonical === undefined || !llm(canonical.top))) return undefined;
  const hash = createHash('sha256');
  part(hash, KEY_FORM);
  part(hash, call.objective.name);
  part(hash, call.target.id);
  part(hash, call.operation);
  part(hash, call.method);
  part(hash, call.query);
  part(hash, cfg.scope === 'client' ? `client:${call.client ?? ''}` : 'shared');
  for (const name of KEY_HEADERS) {
    const v = call.headers[name];
    part(hash, v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v);
  }
  if (canonical !== undefined) {
    part(hash, 'json');
    hash.update(canonical.text);
  } else {
    part(hash, 'bytes');
    hash.update(raw);
  }
  return hash.digest('hex');
}

/** One length-prefixed piece: no two different lists of pieces hash the same bytes. */
function part(hash: Hash, text: string): void {
  hash.update(`${Buffer.byteLength(text)}:${text};`);
}
