// The response cache's tier shared by replicas (`serve --redis`): one Redis
// string per answer, written with its TTL (PX), read with its remaining TTL in
// one round trip. A value names the key it was written under and is checked
// against it, and against its own framing, before use: a value that fails
// (another writer's, truncated, of an older form) is a miss, counted.
//
// Redis never fails a call and never holds one long: commands time out after
// `timeoutMs`, are not queued while disconnected, and any failure is "not
// there" (counted as junction_dropped_total{sink="cache-redis"}): the replica
// serves from its own tier meanwhile.
import { Redis } from 'ioredis';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import type { CachedReply, SharedHit, SharedTier } from './cache-store.js';

/** The value's first bytes: its form. A value without them is not one of ours. */
const MAGIC = Buffer.from('JCR1');

export interface RedisCacheTierOptions {
  /** Longest a call waits for Redis before answering from this replica alone (default 50 ms). */
  timeoutMs?: number;
  /** Prefix of every key (default `junction:cache:`). */
  prefix?: string;
  telemetry?: Telemetry;
  /** Called when Redis stops answering (once per outage, not per call). */
  onFallback?: (err: unknown) => void;
}

interface Meta {
  key: string;
  status: number;
  headers: Record<string, string>;
  /** Wall-clock ms when written (for the hit's `age`; a replica's clock may be off, so only ever clamped). */
  storedAt: number;
  bytes: number;
}

export class RedisCacheTier implements SharedTier {
  /** Calls answered without Redis because it failed or was slow. */
  fallbacks = 0;
  /** Values found that failed their check. */
  invalid = 0;
  private degraded = false;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly telemetry: Telemetry;

  constructor(
    url: string,
    private readonly opts: RedisCacheTierOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'junction:cache:';
    this.telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 50,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on('error', () => undefined); // reconnects on its own; failures are counted per call
  }

  /** Resolves once connected (tests; a call before that answers from this replica alone). */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.redis.once('ready', () => resolve());
      this.redis.once('end', () => reject(new Error('redis connection ended')));
    });
  }

  async get(key: string): Promise<SharedHit | undefined> {
    let value: Buffer | null;
    let ttlMs: number;
    try {
      const results = await this.redis
        .pipeline()
        .getBuffer(this.prefix + key)
        .pttl(this.prefix + key)
        .exec();
      const [got, ttl] = results ?? [];
      const failed = got?.[0] ?? ttl?.[0];
      if (failed) throw failed;
      value = got?.[1] as Buffer | null;
      ttlMs = ttl?.[1] as number;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
    this.degraded = false;
    if (value === null || value === undefined) return undefined;
    const reply = decode(value, key);
    if (reply === undefined) {
      this.invalid++;
      this.telemetry.dropped('cache-redis-invalid');
      return undefined;
    }
    // -1 (no expiry) is never written here; treat it as unknown and keep it no longer than a minute.
    const remaining = ttlMs === -1 ? 60_000 : ttlMs;
    return { reply: reply.reply, ageMs: Math.max(0, Date.now() - reply.storedAt), ttlMs: remaining };
  }

  async set(key: string, reply: CachedReply, ttlMs: number): Promise<void> {
    try {
      await this.redis.set(this.prefix + key, encode(key, reply), 'PX', Math.max(1, Math.round(ttlMs)));
    } catch (err) {
      this.failed(err);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private failed(err: unknown): void {
    this.fallbacks++;
    this.telemetry.dropped('cache-redis');
    if (!this.degraded) this.opts.onFallback?.(err);
    this.degraded = true;
  }
}

/** MAGIC, the meta's length (uint32 BE), the meta as JSON, then the body. */
export function encode(key: string, reply: CachedReply): Buffer {
  const meta: Meta = {
    key,
    status: reply.status,
    headers: { ...reply.headers },
    storedAt: Date.now(),
    bytes: reply.body.length,
  };
  const json = Buffer.from(JSON.stringify(meta));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, length, json, reply.body]);
}

/** The reply a value holds, if it is well formed and was written under `key`. */
export function decode(value: Buffer, key: string): { reply: CachedReply; storedAt: number } | undefined {
  if (value.length < MAGIC.length + 4 || !value.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const metaLength = value.readUInt32BE(MAGIC.length);
  const bodyAt = MAGIC.length + 4 + metaLength;
  if (bodyAt > value.length) return undefined;
  let meta: Partial<Meta>;
  try {
    meta = JSON.parse(value.toString('utf8', MAGIC.length + 4, bodyAt)) as Partial<Meta>;
  } catch {
    return undefined;
  }
  const body = value.subarray(bodyAt);
  const ok =
    meta.key === key &&
    Number.isInteger(meta.status) &&
    meta.status! >= 200 &&
    meta.status! < 300 &&
    stringRecord(meta.headers) &&
    typeof meta.storedAt === 'number' &&
    meta.bytes === body.length;
  if (!ok) return undefined;
  return {
    reply: { status: meta.status!, headers: meta.headers!, body },
    storedAt: meta.storedAt!,
  };
}

function stringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
