// Load reports for one backend (SPEC §14 `load`): every interval, each replica's
// Prometheus page is scraped (metrics) and, for adapter balancing, its model
// list read (`/v1/models`: vLLM lists each loaded LoRA adapter there, with its
// `parent`). Both are bounded: a timeout for the whole answer, at most 1 MiB
// read (a larger page is dropped, not parsed), values sanity-checked. What is
// refused is counted (`junction_dropped_total{sink="load_report"}`) and logged
// at most once every 10 s. ORCA reports come on replies instead (`orca()`).
import { Agent, type Dispatcher } from 'undici';
import type { Logger } from '../../call/hooks.js';
import type { Telemetry } from '../../observe/telemetry.js';
import type { ReplicaState } from '../replica.js';
import type { TlsConnectOptions } from '../tls.js';
import { parseOrca } from './orca.js';
import { loraAdapters, parseLoad } from './prom-text.js';
import type { MetricNames } from './presets.js';

/** Load-report warnings are logged at most this often per backend (they are all counted). */
const WARN_EVERY_MS = 10_000;

/** Largest metrics page or model list read; past it the answer is dropped. */
export const MAX_REPORT_BYTES = 1024 * 1024;
/** Replicas per backend with a junction_endpoint_load series; the rest are balanced on but not labelled. */
export const MAX_LABELLED = 32;

export interface LoadReporterOptions {
  backend: string;
  replicas: () => readonly ReplicaState[];
  /** `scheme://host:port` a replica's reports are read from. */
  base: (e: ReplicaState) => string;
  intervalMs: number;
  timeoutMs: number;
  metrics?: { path: string; names: MetricNames } | undefined;
  /** Path of the model list, when adapters are wanted. */
  adaptersPath?: string | undefined;
  headers: Readonly<Record<string, string>>;
  tls?: TlsConnectOptions | undefined;
  telemetry: Telemetry;
  logger?: Logger | undefined;
  clock?: () => number;
}

export class LoadReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<ReplicaState>();
  private readonly labelled = new Set<string>();
  private readonly agent: Dispatcher;
  private lastWarn = -Infinity;
  /** Warnings counted but not logged since the last one logged. */
  private unlogged = 0;
  private stopped = false;
  private readonly clock: () => number;
  /** Per replica: adapters from its model list and from its metrics, merged into `adapters`. */
  private readonly listed = new WeakMap<ReplicaState, ReadonlySet<string>>();
  private readonly running = new WeakMap<ReplicaState, ReadonlySet<string>>();

  constructor(private readonly opts: LoadReporterOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.agent = new Agent({
      connections: 2,
      keepAliveTimeout: Math.max(1000, opts.intervalMs * 2),
      ...(opts.tls !== undefined ? { connect: opts.tls } : {}),
    });
  }

  start(): void {
    const round = () => void this.tick().catch(() => undefined);
    round();
    this.timer = setInterval(round, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const address of this.labelled) this.unlabel(address);
    await this.agent.close().catch(() => undefined);
  }

  /** One round over every replica; resolves when each has answered or failed. */
  tick(): Promise<void> {
    const list = this.opts.replicas();
    // Replicas that left (discovery) lose their series.
    if (this.labelled.size > 0) {
      const here = new Set(list.map((e) => e.address));
      for (const address of this.labelled) if (!here.has(address)) this.unlabel(address);
    }
    return Promise.all(list.map((e) => this.one(e))).then(() => undefined);
  }

  /** An ORCA header from a reply of `e`: its load now. Malformed ones are counted and ignored. */
  orca(e: ReplicaState, header: string | string[] | undefined): void {
    if (header === undefined) return;
    const parsed = typeof header === 'string' ? parseOrca(header) : undefined;
    if (parsed === undefined) {
      this.warn('orca', e, 'a malformed or unreadable endpoint-load-metrics header was ignored');
      return;
    }
    this.apply(e, parsed.queue, parsed.running, parsed.kvCache, 'orca');
  }

  private async one(e: ReplicaState): Promise<void> {
    if (this.inflight.has(e) || this.stopped) return;
    this.inflight.add(e);
    try {
      if (this.opts.metrics !== undefined) await this.scrape(e, this.opts.metrics.path, this.opts.metrics.names);
      if (this.opts.adaptersPath !== undefined) await this.models(e, this.opts.adaptersPath);
    } finally {
      this.inflight.delete(e);
    }
  }

  private async scrape(e: ReplicaState, path: string, names: MetricNames): Promise<void> {
    const text = await this.fetchBounded(e, path, 'metrics');
    if (text === undefined || this.stopped || e.removed) return;
    if (this.opts.adaptersPath !== undefined) {
      const lora = loraAdapters(text);
      if (lora !== undefined) {
        this.running.set(e, lora);
        this.mergeAdapters(e);
      }
    }
    const load = parseLoad(text, names);
    if (load.rejected > 0)
      this.warn('metrics', e, `${load.rejected} metric value(s) that cannot be load were ignored`, load.rejected);
    if (load.queue === undefined && load.running === undefined && load.kvCache === undefined) {
      this.warn('metrics', e, 'the metrics page has none of the configured load metrics');
      return;
    }
    this.apply(e, load.queue, load.running, load.kvCache, 'metrics');
  }

  private async models(e: ReplicaState, path: string): Promise<void> {
    const text = await this.fetchBounded(e, path, 'models');
    if (text === undefined || this.stopped || e.removed) return;
    try {
      const doc = JSON.parse(text) as { data?: unknown };
      if (!Array.isArray(doc.data)) throw new Error('no data array');
      const ids = new Set<string>();
      for (const m of doc.data.slice(0, 4096) as unknown[]) {
        const id = (m as { id?: unknown } | null)?.id;
        if (typeof id === 'string' && id.length <= 512) ids.add(id);
      }
      this.listed.set(e, ids);
      this.mergeAdapters(e);
    } catch {
      this.warn('models', e, 'the model list is not an OpenAI model list ({"data":[{"id":…}]})');
    }
  }

  /** The answer's text, or undefined (counted) when it failed, timed out or was larger than MAX_REPORT_BYTES. */
  private async fetchBounded(e: ReplicaState, path: string, what: string): Promise<string | undefined> {
    const { timeoutMs } = this.opts;
    try {
      const res = await this.agent.request({
        origin: this.opts.base(e),
        path,
        method: 'GET',
        headers: { 'user-agent': 'junction-load-report', ...this.opts.headers },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        res.body.destroy();
        this.warn(what, e, `the ${what} answer was HTTP ${res.statusCode}`);
        return undefined;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_REPORT_BYTES) {
          res.body.destroy();
          this.warn(what, e, `the ${what} answer is larger than ${MAX_REPORT_BYTES} bytes: ignored`);
          return undefined;
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (!this.stopped) this.warn(what, e, `the ${what} request failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  private mergeAdapters(e: ReplicaState): void {
    const listed = this.listed.get(e);
    const running = this.running.get(e);
    e.adapters = running === undefined ? listed : listed === undefined ? running : new Set([...listed, ...running]);
  }

  private apply(
    e: ReplicaState,
    queue: number | undefined,
    running: number | undefined,
    kvCache: number | undefined,
    source: 'metrics' | 'orca',
  ): void {
    const now = this.clock();
    const load = e.load;
    if (load !== undefined) {
      load.queue = queue ?? 0;
      load.running = running ?? 0;
      load.kvCache = kvCache;
      load.at = now;
      load.source = source;
    } else {
      e.load = { queue: queue ?? 0, running: running ?? 0, kvCache, at: now, source };
    }
    e.outstandingAtReport = e.outstanding;
    if (source === 'orca') return; // per reply: the gauges follow the scrapes only, at their pace
    if (!this.labelled.has(e.address)) {
      if (this.labelled.size >= MAX_LABELLED) return;
      this.labelled.add(e.address);
    }
    const t = this.opts.telemetry;
    t.endpointLoad(this.opts.backend, e.address, 'queue', queue);
    t.endpointLoad(this.opts.backend, e.address, 'running', running);
    t.endpointLoad(this.opts.backend, e.address, 'kv_cache', kvCache);
  }

  private unlabel(address: string): void {
    this.labelled.delete(address);
    const t = this.opts.telemetry;
    t.endpointLoad(this.opts.backend, address, 'queue', undefined);
    t.endpointLoad(this.opts.backend, address, 'running', undefined);
    t.endpointLoad(this.opts.backend, address, 'kv_cache', undefined);
  }

  /**
   * Counted every time; logged at most once every 10 s (or interval, when
   * longer) with how many were left out since: a replica that died is scraped
   * every interval until it leaves, and its log must not be a line per scrape.
   */
  private warn(what: string, e: ReplicaState, message: string, count = 1): void {
    this.opts.telemetry.dropped('load_report', count);
    const now = this.clock();
    if (now - this.lastWarn < Math.max(this.opts.intervalMs, WARN_EVERY_MS)) {
      this.unlogged++;
      return;
    }
    this.lastWarn = now;
    const leftOut = this.unlogged;
    this.unlogged = 0;
    this.opts.logger?.warn(
      { backend: this.opts.backend, endpoint: e.address, report: what, ...(leftOut > 0 ? { leftOut } : {}) },
      message,
    );
  }
}
