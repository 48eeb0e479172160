// Where the response cache keeps answers: one per Junction (its runtime owns
// it, across revisions), never a module's. An in-process LRU bounded by bytes,
// and optionally a tier shared by replicas (Redis, cache-redis.ts) behind it:
// a local miss asks the shared tier, whose answer is then kept locally until
// the shared entry's own expiry. The shared tier never fails a call: down or
// slow, it answers "not there" and counts it.
import { performance } from 'node:perf_hooks';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';

/** The in-process bound when none is given: the answers of a few thousand typical LLM calls. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** What an entry costs besides its body (key, headers, the Map's slot), for the byte bound. */
const ENTRY_OVERHEAD = 256;

/** An answer as stored: what a hit replays. */
export interface CachedReply {
  readonly status: number;
  /** The headers that say how to read the body: content-type, and OIP's inference-header-content-length (cache.ts). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body exactly as the caller got it (an SSE stream's bytes, events and all). */
  readonly body: Buffer;
}

/** A cached answer with its times, on the store's clock (ms). */
export interface CacheEntry extends CachedReply {
  readonly storedAt: number;
  readonly expiresAt: number;
}

/** A tier shared by replicas. `get` never rejects (a failure is "not there", counted by the tier). */
export interface SharedTier {
  get(key: string): Promise<SharedHit | undefined>;
  /** Fire and forget as far as the call is concerned; resolves once written or given up. */
  set(key: string, reply: CachedReply, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A shared tier's answer: the reply, how long it has been stored, and how long it still lives. */
export interface SharedHit {
  reply: CachedReply;
  ageMs: number;
  ttlMs: number;
}

export interface ResponseCacheOptions {
  /** Bytes the in-process tier holds at most (bodies plus a fixed overhead per entry); DEFAULT_CACHE_BYTES by default. */
  maxBytes?: number;
  shared?: SharedTier;
  /** The clock, ms (tests inject one); performance.now() by default: a wall-clock jump expires nothing. */
  now?: () => number;
  /** Where the bytes held are reported (junction_cache_bytes). */
  telemetry?: Telemetry;
}

export class ResponseCache {
  /** Least recently used first: a Map keeps insertion order, and a hit moves its entry to the end. */
  private readonly entries = new Map<string, CacheEntry>();
  private held = 0;
  readonly maxBytes: number;
  private readonly now: () => number;
  private readonly telemetry: Telemetry;
  /** Shared-tier writes still in flight (awaited on close, and by tests). */
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly opts: ResponseCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.now = opts.now ?? (() => performance.now());
    this.telemetry = opts.telemetry ?? NO_TELEMETRY;
  }

  /** Bytes the in-process tier holds now. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The shared tier, when there is one (tests wait on it being connected). */
  get shared(): SharedTier | undefined {
    return this.opts.shared;
  }

  /**
   * The live entry for `key`: at once from this process, else (with a shared
   * tier) a promise of the shared one, kept here from then on. Undefined: a miss.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > this.now()) {
        this.entries.delete(key); // to the most recently used end
        this.entries.set(key, entry);
        return entry;
      }
      this.remove(key, entry);
      this.report();
    }
    const shared = this.opts.shared;
    return shared === undefined ? undefined : shared.get(key).then((hit) => this.adopt(key, hit));
  }

  /** Stores an answer for `ttlMs` here and in the shared tier; an answer larger than the whole bound is not stored. */
  set(key: string, reply: CachedReply, ttlMs: number): void {
    this.keep(key, reply, 0, ttlMs);
    const shared = this.opts.shared;
    if (shared !== undefined) {
      const write = shared.set(key, reply, ttlMs);
      this.writes.add(write);
      void write.finally(() => this.writes.delete(write));
    }
  }

  /** How long ago an entry was stored (for the hit's `age`). */
  ageMs(entry: CacheEntry): number {
    return Math.max(0, this.now() - entry.storedAt);
  }

  /** Resolves once every shared-tier write started so far has landed or failed. */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.opts.shared?.close();
    this.entries.clear();
    this.held = 0;
    this.report();
  }

  private adopt(key: string, hit: SharedHit | undefined): CacheEntry | undefined {
    if (hit === undefined || hit.ttlMs <= 0) return undefined;
    return this.keep(key, hit.reply, hit.ageMs, hit.ttlMs);
  }

  private keep(key: string, reply: CachedReply, ageMs: number, ttlMs: number): CacheEntry | undefined {
    const cost = sizeOf(reply);
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    if (cost > this.maxBytes) {
      this.report();
      return undefined;
    }
    const now = this.now();
    const entry: CacheEntry = { ...reply, storedAt: now - Math.max(0, ageMs), expiresAt: now + ttlMs };
    this.entries.set(key, entry);
    this.held += cost;
    // Evict from the least recently used end until the bound holds again.
    for (const [k, e] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.remove(k, e);
    }
    this.report();
    return entry;
  }

  private remove(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.held -= sizeOf(entry);
  }

  private report(): void {
    this.telemetry.cacheBytes(this.held);
  }
}

function sizeOf(reply: CachedReply): number {
  let size = reply.body.length + ENTRY_OVERHEAD;
  for (const name in reply.headers) size += name.length + reply.headers[name]!.length;
  return size;
}
