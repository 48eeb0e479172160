// The decision log (SPEC §8): one JSON line per request, the exposure log for
// experiment analysis and the training log for models. Sampled per objective;
// non-live traffic is written with its class so analysis can drop it. The same
// observer takes the decisions POST /v1/decide hands out (`via: "decide"`):
// clients that call backends directly are exposed too.
//
// It must never slow a request: the observer only encodes a line into an
// in-memory batch (a request with shadow copies is appended once they settle,
// at most the shadow timeout later, so the line carries their outcomes);
// batches are written every 10 ms, or as soon as 64 KiB wait; a sink that
// does not keep up (write() → false) is left to drain while lines accumulate
// up to a byte cap, past which they are dropped and counted.
//
// A file may also have a size cap (`--log-max-bytes`): what it held when
// opened plus every line accepted since. Past it lines are refused and counted,
// and the owner is told once. Lines reported by a caller (exposures, feedback)
// are taken all or none (`appendAll`), so the caller's answer says exactly what
// was written; a line accepted into the buffer and then lost (the disk failed)
// is counted as dropped.
import { createWriteStream, fstatSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import type { DecisionVia, Observer, RequestRecord, ShadowNote } from './record.js';
import { ContextFilters, contextJson, type ContextFilter, type LoggedRevision } from './decision-context.js';
import { IsoTime } from './iso-time.js';
import { LineBatch } from './line-batch.js';
import { millis3 } from './millis.js';
import { NO_TELEMETRY, type Telemetry } from './telemetry.js';
import type { TokenUsage } from './token-usage.js';
import type { Outcome } from '../routing/types.js';

/** One line of the decision log. Field names are part of the contract (docs/observability.md). */
export interface DecisionRecord {
  time: string;
  requestId: string;
  /** `invoke`: Junction served the request; `decide`: it only decided (POST /v1/decide); `sdk`/`edge`: an exposure reported from elsewhere. */
  via: DecisionVia;
  objective: string;
  unit: string | null;
  /** The x-context-* attributes routing saw. */
  context: Readonly<Record<string, string>>;
  rule: string | null;
  experiment: string | null;
  cell: string | null;
  target: string | null;
  /** The balancer the decided cell or rollout candidate names (`use: { target, balance }`), else null. */
  balance: string | null;
  revision: number | null;
  client: string | null;
  trafficClass: string;
  status: number;
  error: string | null;
  /** Arrival to end of response; null unless `invoke` (no request was served here). */
  latencyMs: number | null;
  /** Arrival to the first byte of the response (the first token of a stream); null when none was sent or not `invoke`. */
  ttftMs: number | null;
  /** The target (or `static`) that answered instead of `target`, if any. */
  fallback: string | null;
  shadows: ShadowNote[];
  /** Tokens the backend reported (openai objectives): `{prompt, completion}`, or null. */
  usage: TokenUsage | null;
  /** The replica that served the call (remote backends), or null. */
  endpoint: string | null;
  /** Why that replica was picked (`p2c`, `least-load`, `prefix-hit`, …), or null. */
  pick: string | null;
  /** What the call cost in `currency` (SPEC §16), or null when its target has no price. */
  cost: number | null;
  currency: string | null;
  /** The cost was estimated from the reply's text (it reported no usage). */
  estimated: boolean;
  /** `hit`, `miss` or `bypass` for objectives with a response cache, else null. */
  cache: string | null;
}

export interface DecisionLogOptions {
  sink: Writable;
  /** The objective's `observability.decisionLogSample` (1 = every request). */
  sampleRate: (objective: string) => number;
  /** Uniform in [0, 1); injected by tests. */
  random?: () => number;
  /** Lines held while the sink is slow, before dropping (default 8 MiB). */
  maxBufferBytes?: number;
  /** End the sink on close (files we opened; never stdout). */
  ownsSink?: boolean;
  /** Told once when the sink fails; records are dropped (and counted) from then on. */
  onSinkError?: (err: Error) => void;
  /**
   * How long lines gather before one write (default 10 ms; sooner once 64 KiB
   * are waiting). Each write is a trip through libuv's thread pool: batching
   * by time, not by event-loop turn, measured ~8 % of proxy throughput.
   */
  flushDelayMs?: number;
  /** The `sink` label of dropped-line telemetry (default `decision_log`; the feedback log reuses this writer). */
  sinkName?: string;
  /** Most bytes the file may hold (`--log-max-bytes`): its size when opened plus every line accepted since. No cap when absent. */
  maxFileBytes?: number;
  /** Bytes the file held when opened (openDecisionLog reads it). */
  fileBytes?: number;
  /** Told once when a line would take the file past `maxFileBytes`: lines are refused (and counted) from then on. */
  onFull?: (maxFileBytes: number) => void;
  /** Counts dropped records (the Junction's sink). */
  telemetry?: Telemetry;
  /** The live revision, whose `decisionLog.context` says which context keys are written; all of them without it. */
  revision?: () => LoggedRevision | undefined;
}

/** Lines gather this long before one write, unless FLUSH_BYTES are waiting first. */
const DEFAULT_FLUSH_DELAY_MS = 10;
const FLUSH_BYTES = 64 * 1024;

/** Whether `appendAll` took the lines, or why not (none were taken). */
export type AppendVerdict = 'written' | 'full' | 'busy' | 'broken';

export class DecisionLog {
  written = 0;
  dropped = 0;
  private readonly pending = new LineBatch();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Lines waiting for their request's shadow copies to settle. */
  private deferred = 0;
  private blocked = false;
  private broken = false;
  private readonly sink: Writable;
  private readonly random: () => number;
  private readonly maxBufferBytes: number;
  private readonly idle: Array<() => void> = [];
  private readonly lines: DecisionLines;
  /** The file's bytes: what it held when opened plus every line accepted since. */
  private fileBytes: number;
  private readonly maxFileBytes: number;
  private full = false;

  constructor(private readonly opts: DecisionLogOptions) {
    this.sink = opts.sink;
    this.random = opts.random ?? Math.random;
    this.maxBufferBytes = opts.maxBufferBytes ?? 8 * 1024 * 1024;
    this.fileBytes = opts.fileBytes ?? 0;
    this.maxFileBytes = opts.maxFileBytes ?? Infinity;
    this.lines = new DecisionLines(opts.revision && new ContextFilters(opts.revision).of);
    this.sink.on('error', (err) => {
      // A dead sink (disk full, closed pipe) must not take requests down: drop from now on.
      if (!this.broken) opts.onSinkError?.(err);
      this.broken = true;
      // Nothing will drain a dead sink: whoever waits (close(), drained()) must not wait forever.
      this.blocked = false;
      this.drop(this.pending.lines);
      this.pending.take();
      this.settle();
    });
  }

  /** The observer to add to the data plane, for requests (`observers`) and decide items (`decided`) alike. */
  readonly observer: Observer = (record) => {
    if (!record.started) return; // not an objective (unknown name, other routes)
    if (!this.sampled(record.objective!)) return;
    if (record.shadowsSettled === undefined) {
      this.append(this.lines.line(record));
      return;
    }
    // Shadow outcomes belong on the line, but the request has already been
    // answered: wait (bounded by the shadow timeout) off the request's path,
    // with the record as it ended (the path may still write to its own).
    this.deferred++;
    const ended: RequestRecord = { ...record };
    void record.shadowsSettled.then(() => {
      this.deferred--;
      try {
        this.append(this.lines.line(ended));
      } catch {
        // A rejection here would be unhandled (the end of the process): the line is lost, and counted.
        this.drop(1);
      }
      this.settle();
    });
  };

  private sampled(objective: string): boolean {
    const rate = this.opts.sampleRate(objective);
    return rate >= 1 || (rate > 0 && this.random() < rate);
  }

  /**
   * The line a decision reported from elsewhere (POST /v1/exposures) would
   * write, or undefined when it reached no objective or the objective's sample
   * leaves it out. Hand the lines to `appendAll`.
   */
  lineFor(record: RequestRecord): string | undefined {
    if (!record.started || !this.sampled(record.objective!)) return undefined;
    return this.lines.line(record);
  }

  /** Appends one line made elsewhere (rollout events): same buffer, same drop rule, never blocks. */
  appendLine(line: string): void {
    this.append(line);
  }

  /**
   * Takes every line or none, at once, so whoever reported them can say
   * exactly what was written: none when the sink has failed (`broken`), the
   * file would pass its cap (`full`), or the buffer has no room for them all
   * (`busy`: the sink is behind; it drains within moments). Lines refused are
   * counted as dropped. Never blocks.
   */
  appendAll(lines: readonly string[]): AppendVerdict {
    let bytes = 0;
    for (const line of lines) bytes += Buffer.byteLength(line) + 1;
    const verdict: AppendVerdict = this.broken
      ? 'broken'
      : this.fileBytes + bytes > this.maxFileBytes
        ? 'full'
        : this.pending.bytes + bytes > this.maxBufferBytes
          ? 'busy'
          : 'written';
    if (verdict !== 'written') {
      if (verdict === 'full') this.reachedCap();
      this.drop(lines.length);
      return verdict;
    }
    for (const line of lines) this.add(line);
    return verdict;
  }

  /**
   * What the log holds on disk, as a rotating sink measures it after a
   * rotation or a retention sweep (observe/rotating-log.ts): the cap counts
   * from it again, plus what is still on its way to the sink, so room that
   * retention frees is taken again.
   */
  measured(diskBytes: number): void {
    this.fileBytes = diskBytes + this.pending.bytes + this.sink.writableLength;
    if (this.full && this.fileBytes < this.maxFileBytes) this.full = false;
  }

  /** The file has reached its cap (`maxFileBytes`): nothing more is taken. */
  get isFull(): boolean {
    return this.full;
  }

  private reachedCap(): void {
    if (this.full) return;
    this.full = true;
    this.opts.onFull?.(this.maxFileBytes);
  }

  private append(line: string): void {
    if (this.broken || this.pending.bytes + line.length + 1 > this.maxBufferBytes) {
      this.drop(1);
      return;
    }
    // UTF-16 units: the file may pass its cap by at most a line's multi-byte characters.
    if (this.fileBytes + line.length + 1 > this.maxFileBytes) {
      this.reachedCap();
      this.drop(1);
      return;
    }
    this.add(line);
  }

  /** Into the batch, checked already; a write is scheduled. */
  private add(line: string): void {
    const before = this.pending.bytes;
    this.pending.add(line);
    this.fileBytes += this.pending.bytes - before;
    if (this.blocked) return;
    // Enough for one write, or someone waits for the log (close, drained): do not wait for the
    // timer, which is unref'd and would let a closing process exit with the line unwritten.
    if (this.pending.bytes >= FLUSH_BYTES || this.idle.length > 0) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.scheduled = false;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.timer = setTimeout(this.flush, this.opts.flushDelayMs ?? DEFAULT_FLUSH_DELAY_MS);
      this.timer.unref(); // close() drains what is left
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.blocked || this.broken || this.pending.lines === 0) {
      this.settle();
      return;
    }
    let ok = true;
    for (const { bytes, lines } of this.pending.take()) {
      this.written += lines;
      ok = this.sink.write(bytes, (err) => {
        // The sink failed these lines (or died before writing them): they were lost, not written.
        if (err) {
          this.written -= lines;
          this.drop(lines);
        }
      });
    }
    if (!ok) {
      this.blocked = true;
      this.sink.once('drain', () => {
        this.blocked = false;
        this.flush();
      });
    } else {
      this.settle();
    }
  };

  private drop(n: number): void {
    if (n === 0) return;
    this.dropped += n;
    (this.opts.telemetry ?? NO_TELEMETRY).dropped(this.opts.sinkName ?? 'decision_log', n);
  }

  private settle(): void {
    if (this.pending.lines === 0 && !this.blocked && this.deferred === 0)
      for (const done of this.idle.splice(0)) done();
  }

  /** Resolves once every accepted line (including those waiting on shadows) has been handed to the sink. */
  drained(): Promise<void> {
    if (this.timer !== undefined) this.flush(); // whoever waits should not wait for the batch timer
    if (this.broken || (this.pending.lines === 0 && !this.blocked && this.deferred === 0)) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.drained();
    if (this.opts.ownsSink) await new Promise<void>((resolve) => this.sink.end(resolve));
  }
}

/**
 * Writes a record's line: exactly `JSON.stringify(toDecisionRecord(r))`
 * (tested field for field), built by hand because JSON.stringify of the
 * 19-field object measured ~1.3 µs, over 1 % of a proxied request. The
 * outcome's part of the line is the same for every request it decides, so it
 * is made once per outcome; strings are quoted directly when they need no
 * escaping (ids, names, units almost always).
 */
export class DecisionLines {
  private readonly clock = new IsoTime();
  private readonly outcomes = new WeakMap<Outcome, string>();

  /** `contextOf`: the objective's context filter (decision-context.ts); every key is written without it. */
  constructor(private readonly contextOf?: (objective: string) => ContextFilter | undefined) {}

  line(r: RequestRecord): string {
    const o = r.outcome;
    let decided = o === undefined ? NO_OUTCOME : this.outcomes.get(o);
    if (decided === undefined) {
      decided =
        `"rule":${quote(o!.rule)},"experiment":${quoteOrNull(o!.experiment)},"cell":${quoteOrNull(o!.cell)},"target":${quote(o!.target.id)}` +
        `,"balance":${quoteOrNull(o!.balance)},"revision":${o!.revision}`;
      this.outcomes.set(o!, decided);
    }
    const context = r.context;
    return (
      `{"time":"${this.clock.format(performance.timeOrigin + r.start)}","requestId":${quote(r.requestId)}` +
      `,"via":"${r.via}","objective":${quote(r.objective!)},"unit":${quoteOrNull(r.unit)}` +
      `,"context":${context === undefined || isEmpty(context) ? '{}' : contextJson(context, this.contextOf?.(r.objective!))},${decided}` +
      `,"client":${quoteOrNull(r.client)},"trafficClass":${quote(r.trafficClass)},"status":${r.status}` +
      `,"error":${quoteOrNull(r.errorCode)},"latencyMs":${r.via !== 'invoke' ? 'null' : millis3(r.end - r.start)}` +
      `,"ttftMs":${r.via !== 'invoke' || r.firstByte === undefined ? 'null' : millis3(r.firstByte - r.start)}` +
      `,"fallback":${quoteOrNull(r.fallback)},"shadows":${r.shadows === undefined ? '[]' : JSON.stringify(r.shadows)}` +
      `,"usage":${r.usage === undefined ? 'null' : JSON.stringify(r.usage)}` +
      `,"endpoint":${quoteOrNull(r.endpoint)},"pick":${quoteOrNull(r.pick)}` +
      `,"cost":${r.cost === undefined ? 'null' : String(r.cost.amount)},"currency":${r.cost === undefined ? 'null' : quote(r.cost.currency)}` +
      `,"estimated":${r.cost?.estimated === true},"cache":${quoteOrNull(r.cache)}}`
    );
  }
}

const NO_OUTCOME = '"rule":null,"experiment":null,"cell":null,"target":null,"balance":null,"revision":null';

/** Printable ASCII other than `"` and `\`: JSON needs no escape for it. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function quoteOrNull(s: string | undefined): string {
  return s === undefined ? 'null' : quote(s);
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** The line's fields as an object: what `DecisionLines` writes, by definition (its test compares the two). */
export function toDecisionRecord(r: RequestRecord): DecisionRecord {
  const o = r.outcome;
  return {
    time: new Date(performance.timeOrigin + r.start).toISOString(),
    requestId: r.requestId,
    via: r.via,
    objective: r.objective!,
    unit: r.unit ?? null,
    context: r.context ?? {},
    rule: o?.rule ?? null,
    experiment: o?.experiment ?? null,
    cell: o?.cell ?? null,
    target: o?.target.id ?? null,
    balance: o?.balance ?? null,
    revision: o?.revision ?? null,
    client: r.client ?? null,
    trafficClass: r.trafficClass,
    status: r.status,
    error: r.errorCode ?? null,
    latencyMs: r.via !== 'invoke' ? null : Math.round((r.end - r.start) * 1000) / 1000,
    ttftMs: r.via !== 'invoke' || r.firstByte === undefined ? null : Math.round((r.firstByte - r.start) * 1000) / 1000,
    fallback: r.fallback ?? null,
    shadows: r.shadows ?? [],
    usage: r.usage ?? null,
    endpoint: r.endpoint ?? null,
    pick: r.pick ?? null,
    cost: r.cost?.amount ?? null,
    currency: r.cost?.currency ?? null,
    estimated: r.cost?.estimated === true,
    cache: r.cache ?? null,
  };
}

/**
 * `--decision-log FILE|-`: stdout for `-`, else the file, appended to. The file
 * is opened here, synchronously, so a bad path fails at startup, not silently later.
 */
export function openDecisionLog(
  where: string,
  opts: Pick<
    DecisionLogOptions,
    'sampleRate' | 'onSinkError' | 'sinkName' | 'telemetry' | 'maxFileBytes' | 'onFull' | 'maxBufferBytes' | 'revision'
  >,
): DecisionLog {
  if (where === '-') return new DecisionLog({ ...opts, sink: process.stdout });
  const fd = openSync(where, 'a');
  const fileBytes = fstatSync(fd).size; // the cap counts what the file already holds
  // A batch (up to FLUSH_BYTES, often more than the stream's default 16 KiB mark) is taken
  // whole: with the default, most writes reported back-pressure and the drain that followed
  // sent a second, small write, ~30 % more trips through the thread pool for the same lines.
  const sink = createWriteStream('', { fd, highWaterMark: 4 * FLUSH_BYTES });
  return new DecisionLog({ ...opts, fileBytes, sink, ownsSink: true });
}
