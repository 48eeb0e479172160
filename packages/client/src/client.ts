// JunctionClient: the feature-flag-SDK pattern for model routing. Download the
// routing (a snapshot), decide in process with the server's own routing core,
// call the chosen target directly, report exposures in batches, follow new
// revisions by long-poll, and keep deciding on the last snapshot when Junction
// is away.
import { Agent } from 'undici';
import type { TrafficClass } from '../../../src/config/schema.js';
import { JunctionError } from '../../../src/errors.js';
import { BucketMemo } from '../../../src/routing/bucket-memo.js';
import { decide as routingDecide } from '../../../src/routing/decide.js';
import { routingRequest, type FieldNames } from '../../../src/routing/request.js';
import type { CompiledObjective, Outcome } from '../../../src/routing/types.js';
import { RequestIds } from '../../../src/observe/request-ids.js';
import { DecisionCache, type Decision } from './decision.js';
import { emitter, type EventHook } from './events.js';
import { ExposureQueue } from './exposures.js';
import { invokeDirect, invokeViaJunction, type Body, type InvokeResult } from './invoke.js';
import type { CompiledSnapshot } from './snapshot.js';
import { SnapshotWatcher } from './watch.js';

export interface ConnectOptions {
  /** Junction's data-plane URL, e.g. `http://junction:8080`. */
  url: string;
  /** Sent as `authorization: Bearer <key>` (required when Junction has clients configured). */
  apiKey?: string;
  /** Where the last good snapshot is kept, so a process can start deciding while Junction is unreachable. */
  cacheFile?: string;
  /** Told of revisions, disconnections, rejected snapshots and dropped exposures. */
  onEvent?: EventHook;
  /** Report exposures of local decisions (default true). */
  exposures?: boolean | { batchSize?: number; flushMs?: number; maxBuffered?: number };
  /** Seconds a snapshot long-poll is held (default 30). */
  waitSeconds?: number;
  /** Retry delays when Junction is unreachable (default 250 ms doubling to 30 s, jittered). */
  backoff?: { minMs?: number; maxMs?: number };
  /** Default per-call timeout of invoke, ms (default 30,000). */
  timeoutMs?: number;
  /** Keep-alive connections per origin for invoke and the control calls (default 128). */
  connections?: number;
  /**
   * Buckets remembered for units that decide again, as (experiment or rollout
   * salt, unit) pairs (default 32,768; ~90 bytes each with 20-character units,
   * so ~3 MB at most; at least 64; 0 turns it off). Saves the SHA-256 of SPEC §3 on a
   * repeat; the decision is the same.
   */
  bucketMemo?: number;
}

export interface DecideOptions {
  /** The allocation unit (usually a user id). Without one, allocation is random per call (x-decision says unit=none). */
  unit?: string;
  /** Routing attributes (country, device, …): what x-context-* headers carry to the server. */
  context?: Readonly<Record<string, string>>;
  trafficClass?: TrafficClass;
  /** `model@version`, when the objective allows overrides. */
  override?: string;
  /** Report this decision as an exposure (default: the client's `exposures` setting). */
  expose?: boolean;
}

export interface InvokeOptions extends DecideOptions {
  /** Extra request headers (content-type, tracing, …). */
  headers?: Record<string, string>;
  method?: 'POST' | 'PUT' | 'GET';
  /**
   * The protocol operation, as the server's faces name them (default `invoke`,
   * the generic objective call; e.g. `infer`, `chat/completions`, `embeddings`).
   */
  operation?: string;
  /** Query string, with its `?`. */
  query?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ClientStats {
  revision: number | undefined;
  exposuresSent: number;
  exposuresDropped: number;
  /** The bucket memo's lookups (undefined when `bucketMemo: 0`): answered from it, computed through it, sent past it while it stepped aside. */
  buckets: { hits: number; misses: number; bypassed: number } | undefined;
}

export class JunctionClient {
  private snapshot: CompiledSnapshot | undefined;
  private readonly decisions = new DecisionCache();
  private readonly ids = new RequestIds();
  /** Round-robin position per target, for spreading direct calls over its endpoints. */
  private readonly nextEndpoint = new Map<string, number>();
  private readonly exposures: ExposureQueue | undefined;
  private readonly buckets: BucketMemo | undefined;
  private readonly watcher: SnapshotWatcher;
  private readonly dispatcher: Agent;
  private readonly url: string;
  private closed = false;

  private constructor(private readonly opts: ConnectOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.dispatcher = new Agent({ connections: opts.connections ?? 128, keepAliveTimeout: 30_000 });
    const memo = opts.bucketMemo ?? 32_768;
    this.buckets = memo === 0 ? undefined : new BucketMemo(memo);
    const emit = emitter(opts.onEvent);
    const ex = opts.exposures ?? true;
    this.exposures =
      ex === false
        ? undefined
        : new ExposureQueue({
            url: this.url,
            apiKey: opts.apiKey,
            dispatcher: this.dispatcher,
            emit,
            batchSize: (typeof ex === 'object' ? ex.batchSize : undefined) ?? 1000,
            flushMs: (typeof ex === 'object' ? ex.flushMs : undefined) ?? 1000,
            maxBuffered: (typeof ex === 'object' ? ex.maxBuffered : undefined) ?? 100_000,
          });
    this.watcher = new SnapshotWatcher({
      url: this.url,
      apiKey: opts.apiKey,
      cacheFile: opts.cacheFile,
      dispatcher: this.dispatcher,
      emit,
      waitSeconds: opts.waitSeconds ?? 30,
      minBackoffMs: opts.backoff?.minMs ?? 250,
      maxBackoffMs: opts.backoff?.maxMs ?? 30_000,
      apply: (s) => {
        this.snapshot = s;
      },
    });
  }

  /**
   * Fetches the snapshot (or, when Junction is unreachable, reads `cacheFile`)
   * and starts following new revisions. Rejects when neither has a snapshot.
   */
  static async connect(opts: ConnectOptions): Promise<JunctionClient> {
    const client = new JunctionClient(opts);
    if (!(await client.watcher.first())) {
      await client.dispatcher.close();
      throw new JunctionError(
        'not_ready',
        `no snapshot: ${opts.url} is unreachable or has no valid config${opts.cacheFile ? `, and ${opts.cacheFile} has none` : ''}`,
      );
    }
    client.watcher.start();
    return client;
  }

  /** The revision decisions are made on. */
  get revision(): number | undefined {
    return this.snapshot?.revision;
  }

  get stats(): ClientStats {
    const b = this.buckets;
    return {
      revision: this.revision,
      exposuresSent: this.exposures?.sent ?? 0,
      exposuresDropped: this.exposures?.dropped ?? 0,
      buckets: b === undefined ? undefined : { hits: b.hits, misses: b.misses, bypassed: b.bypassed },
    };
  }

  /** Objective names of the current revision. */
  objectives(): string[] {
    return [...(this.snapshot?.table.objectives.keys() ?? [])];
  }

  /**
   * Decides in process, synchronously, exactly as Junction would for the same
   * revision. Throws JunctionError (objective_not_found, override_forbidden,
   * invalid_request) as the server's /v1/decide would answer.
   */
  decide(objective: string, opts: DecideOptions = {}): Decision {
    const unit = opts.unit === '' ? undefined : opts.unit;
    const outcome = this.outcome(this.objective(objective), opts, unit, lowerKeys(opts.context));
    if (this.exposures !== undefined && opts.expose !== false)
      this.exposures.add(outcome, unit, opts.trafficClass ?? 'live');
    return this.decisions.get(outcome, unit !== undefined);
  }

  /**
   * Decides, then calls the target: its endpoints directly for a remote target,
   * through Junction for an in-process one (which then decides and logs the
   * exposure itself). The response body streams; read or dump it.
   */
  async invoke(objective: string, body: Body, opts: InvokeOptions = {}): Promise<InvokeResult> {
    const o = this.objective(objective);
    const unit = opts.unit === '' ? undefined : opts.unit;
    const context = lowerKeys(opts.context);
    const outcome = this.outcome(o, opts, unit, context);
    const decision = this.decisions.get(outcome, unit !== undefined);
    const spec = {
      method: opts.method ?? 'POST',
      operation: opts.operation ?? 'invoke',
      query: opts.query ?? '',
      headers: opts.headers ?? {},
      timeoutMs: opts.timeoutMs ?? this.opts.timeoutMs ?? 30_000,
      signal: opts.signal,
    };
    if (!decision.remote) {
      return invokeViaJunction(
        this.url,
        this.opts.apiKey,
        objective,
        decision,
        {
          unit,
          context,
          trafficClass: opts.trafficClass ?? 'live',
          override: opts.override,
        },
        body,
        spec,
        this.dispatcher,
      );
    }
    if (this.exposures !== undefined && opts.expose !== false)
      this.exposures.add(outcome, unit, opts.trafficClass ?? 'live');
    return invokeDirect(o, outcome, decision, this.endpointFor(decision), body, spec, this.dispatcher, this.ids);
  }

  /** Sends the exposures buffered so far. */
  flush(): Promise<void> {
    return this.exposures?.flush() ?? Promise.resolve();
  }

  /** Stops following revisions, flushes exposures, closes connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watcher.close();
    await this.exposures?.close();
    await this.dispatcher.close();
  }

  private objective(name: string): CompiledObjective {
    const snap = this.snapshot;
    if (snap === undefined) throw new JunctionError('not_ready', 'no snapshot loaded');
    const o = snap.table.objectives.get(name);
    if (o === undefined) throw new JunctionError('objective_not_found', `no objective "${name}"`, { objective: name });
    return o;
  }

  private outcome(
    o: CompiledObjective,
    opts: DecideOptions,
    unit: string | undefined,
    context: Readonly<Record<string, string>>,
  ): Outcome {
    // The server's own builder: the same checks, defaults and random unit as a request's headers.
    const req = routingRequest(unit, context, opts.trafficClass, opts.override, OPTIONS, o.name);
    return routingDecide(this.snapshot!.table, o, req, undefined, this.buckets);
  }

  private endpointFor(d: Decision): string {
    const i = this.nextEndpoint.get(d.target) ?? 0;
    this.nextEndpoint.set(d.target, (i + 1) % d.endpoints.length);
    return d.endpoints[i % d.endpoints.length]!;
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
/** How the SDK's options are named in its errors; an override here is the caller's own, as a header's would be. */
const OPTIONS: FieldNames = { trafficClass: 'trafficClass', override: 'override', overrideSource: 'header' };

/** Context keys as the server sees them (header names are case-insensitive); copies only when needed. */
function lowerKeys(context: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (context === undefined) return EMPTY;
  for (const k in context) {
    if (hasUpperCase(k)) {
      const out: Record<string, string> = {};
      for (const key in context) out[key.toLowerCase()] = context[key]!;
      return out;
    }
  }
  return context;
}

function hasUpperCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return true; // non-ASCII: let toLowerCase decide
  }
  return false;
}
