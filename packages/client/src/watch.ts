// Keeps the newest snapshot: a long-poll on GET /v1/config/snapshot?wait= with
// the ETag in hand, so a new revision arrives as soon as it is live on the
// replica answering. When Junction is unreachable the last snapshot stays in
// use and the poll retries with capped, jittered exponential backoff; the
// cache file (written atomically after every accepted snapshot) lets a process
// start deciding while Junction is down.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { EventHook } from './events.js';
import { compileSnapshot, type CompiledSnapshot } from './snapshot.js';

export interface WatchOptions {
  url: string;
  apiKey: string | undefined;
  cacheFile: string | undefined;
  /** Seconds each long-poll may be held by the server. */
  waitSeconds: number;
  /** First and largest retry delays after a failure. */
  minBackoffMs: number;
  maxBackoffMs: number;
  dispatcher: Dispatcher;
  emit: EventHook;
  /** Called with every accepted snapshot, in revision order. */
  apply: (s: CompiledSnapshot) => void;
}

/** Largest snapshot accepted: a config with 10,000 rules is a few MB. */
const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export class SnapshotWatcher {
  private etag: string | undefined;
  private current: number | undefined;
  private failures = 0;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: WatchOptions) {}

  /** The first snapshot: from Junction, else from the cache file. Resolves false when neither has one. */
  async first(): Promise<boolean> {
    try {
      await this.poll(0);
      if (this.current !== undefined) return true;
    } catch (err) {
      this.failures = 1;
      this.opts.emit({ type: 'disconnected', error: (err as Error).message, retryInMs: this.opts.minBackoffMs });
    }
    return this.fromCache();
  }

  /** Starts following new revisions; runs until close(). */
  start(): void {
    this.loop ??= this.follow();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        // After a failure, ask without waiting: a revision missed while away arrives at once, and so does the news that Junction is back.
        await this.poll(this.failures > 0 ? 0 : this.opts.waitSeconds);
      } catch (err) {
        if (this.stop.signal.aborted) return;
        const delay = this.backoff();
        this.failures++;
        this.opts.emit({ type: 'disconnected', error: (err as Error).message, retryInMs: delay });
        await sleep(delay, this.stop.signal);
      }
    }
  }

  /** Junction answered: after failures, say so at once (a long-poll may then be held for its whole wait). */
  private answered(): void {
    if (this.failures > 0) this.opts.emit({ type: 'reconnected' });
    this.failures = 0;
  }

  /** Full jitter over an exponential ceiling: replicas coming back are not stampeded. */
  private backoff(): number {
    const ceiling = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** Math.min(this.failures, 16));
    return Math.round(this.opts.minBackoffMs / 2 + Math.random() * (ceiling - this.opts.minBackoffMs / 2));
  }

  private async poll(waitSeconds: number): Promise<void> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.etag !== undefined) headers['if-none-match'] = this.etag;
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const res = await request(`${this.opts.url}/v1/config/snapshot${waitSeconds > 0 ? `?wait=${waitSeconds}` : ''}`, {
      headers,
      dispatcher: this.opts.dispatcher,
      signal: this.stop.signal,
      headersTimeout: (waitSeconds + 10) * 1000,
      bodyTimeout: 30_000,
    });
    if (res.statusCode === 200 || res.statusCode === 304) this.answered();
    if (res.statusCode === 304) {
      await res.body.dump();
      return;
    }
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).slice(0, 300);
      throw new Error(`snapshot: HTTP ${res.statusCode} ${text}`);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > MAX_SNAPSHOT_BYTES) {
      await res.body.dump();
      throw new Error(`snapshot: ${declared} bytes is over the ${MAX_SNAPSHOT_BYTES}-byte limit`);
    }
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    // Counted as it arrives too: a chunked reply declares no length.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SNAPSHOT_BYTES) {
        res.body.destroy();
        throw new Error(`snapshot: over the ${MAX_SNAPSHOT_BYTES}-byte limit`);
      }
      chunks.push(chunk);
    }
    this.accept(Buffer.concat(chunks, size).toString('utf8'), etag, 'server');
  }

  /** Parses, validates and compiles a snapshot, or reports it and keeps the old one. True when applied. */
  private accept(text: string, etag: string | undefined, source: 'server' | 'cache'): boolean {
    let compiled: CompiledSnapshot;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
      compiled = compileSnapshot(raw);
    } catch (err) {
      const revision = (raw as { revision?: unknown } | undefined)?.revision;
      this.opts.emit({
        type: 'snapshot_rejected',
        revision: typeof revision === 'number' ? revision : undefined,
        error: (err as Error).message,
      });
      // Remember its ETag anyway: the next long-poll then waits for a newer revision instead of fetching this one again.
      if (etag !== undefined) this.etag = etag;
      return false;
    }
    if (this.current !== undefined && compiled.revision <= this.current) {
      if (etag !== undefined) this.etag = etag;
      return false; // an older replica answered: keep the newer revision
    }
    this.etag = etag ?? `"rev-${compiled.revision}"`;
    this.current = compiled.revision;
    this.opts.apply(compiled);
    this.opts.emit({ type: 'revision', revision: compiled.revision, source });
    if (source === 'server' && this.opts.cacheFile !== undefined) void this.writeCache(text);
    return true;
  }

  private async fromCache(): Promise<boolean> {
    if (this.opts.cacheFile === undefined) return false;
    let text: string;
    try {
      text = await readFile(this.opts.cacheFile, 'utf8');
    } catch {
      return false;
    }
    return this.accept(text, undefined, 'cache');
  }

  private async writeCache(text: string): Promise<void> {
    const file = this.opts.cacheFile!;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, file); // readers see the old file or the new one, never half of one
    } catch (err) {
      this.opts.emit({ type: 'cache_error', error: (err as Error).message });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
