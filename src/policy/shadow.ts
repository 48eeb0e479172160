// Shadow traffic: a share of calls is copied to other targets, off the
// critical path. The live reply is returned as soon as it arrives; a copy's
// result, latency and errors never touch it. When a comparator is set, the
// live body is teed (copied as it streams to the caller, never delayed) and
// compared with the shadow's answer once both are complete.
import { Cancellation, type CancelSignal } from '../call/cancel.js';
import { performance } from 'node:perf_hooks';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { Call, Policy, Reply, Send } from '../call/types.js';
import type { ShadowConfig } from '../config/schema.js';
import { noteShadow, type ShadowNote } from '../observe/record.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import type { Target } from '../routing/types.js';
import { destroyQuietly, discard } from './attempt.js';
import { comparatorFor, type Comparator } from './shadow-compare.js';
import type { ShadowQueue } from './shadow-queue.js';

/** Bodies larger than this are not compared (the copy would cost memory on every request). */
export const MAX_COMPARE_BYTES = 1024 * 1024;

export interface ShadowTarget {
  cfg: ShadowConfig;
  target: Target;
  compare: Comparator | undefined;
}

export interface ShadowOptions {
  shadows: readonly ShadowTarget[];
  /** Sends one copy to its target: the backend itself, with no retry or fallback. */
  send: Send;
  queue: ShadowQueue;
  timeoutMs: number;
  /** Where shadow results are counted (the Junction's sink). */
  telemetry?: Telemetry;
  random?: () => number;
}

export function shadowTargets(
  shadows: readonly ShadowConfig[],
  resolve: (ref: string) => Target | undefined,
): ShadowTarget[] {
  const out: ShadowTarget[] = [];
  for (const cfg of shadows) {
    const target = resolve(cfg.use);
    if (target !== undefined) out.push({ cfg, target, compare: comparatorFor(cfg) });
  }
  return out;
}

export function shadow(opts: ShadowOptions): Policy {
  const random = opts.random ?? Math.random;
  return (next) => async (call) => {
    let chosen: ShadowTarget[] | undefined;
    // A body that streams once cannot be copied: no shadow rather than a broken live call.
    if (call.body.replayable) for (const s of opts.shadows) if (random() * 100 < s.cfg.percent) (chosen ??= []).push(s);
    if (chosen === undefined) return next(call);

    let liveBody: (body: Buffer | undefined) => void = () => undefined;
    const live = new Promise<Buffer | undefined>((resolve) => {
      liveBody = resolve;
    });
    const run = new ShadowRun(opts.timeoutMs, chosen.length);
    if (call.record !== undefined) call.record.shadowsSettled = run.settled;
    for (const s of chosen) {
      const note = noteShadow(call.record, s.target.id, 'sent');
      run.track(note);
      const queued = opts.queue.push(() => sendCopy(opts, s, call, live, run, note));
      (opts.telemetry ?? NO_TELEMETRY).shadow(call.objective.name, s.target.id, queued ? 'sent' : 'dropped');
      if (!queued) {
        note.result = 'dropped';
        run.done();
      }
    }
    let reply: Reply;
    try {
      reply = await next(call);
    } catch (err) {
      liveBody(undefined);
      throw err;
    }
    if (!chosen.some((s) => s.compare !== undefined) || reply.status >= 300) {
      liveBody(undefined);
      return reply;
    }
    return { ...reply, body: tee(reply.body, liveBody) };
  };
}

/**
 * The copies of one request share one timer: at `timeoutMs` after they were
 * dispatched, a copy still queued or running is aborted and noted `timeout`,
 * and `settled` resolves, so the decision log never waits longer than that.
 */
class ShadowRun {
  readonly controller = new AbortController();
  readonly settled: Promise<void>;
  private readonly notes: ShadowNote[] = [];
  private resolve: () => void = () => undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly timeoutMs: number,
    private pending: number,
  ) {
    this.settled = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.timer = setTimeout(() => {
      for (const note of this.notes) if (note.result === 'sent') note.result = 'timeout';
      this.controller.abort(new Error('shadow deadline'));
      this.resolve();
    }, timeoutMs);
    this.timer.unref();
  }

  /** Tracks a copy's note, so the timer can mark it if the copy is still queued or running. */
  track(note: ShadowNote): void {
    this.notes.push(note);
  }

  get timedOut(): boolean {
    return this.controller.signal.aborted;
  }

  done(): void {
    if (--this.pending > 0) return;
    clearTimeout(this.timer);
    this.resolve();
  }
}

async function sendCopy(
  opts: ShadowOptions,
  s: ShadowTarget,
  live: Call,
  liveBody: Promise<Buffer | undefined>,
  run: ShadowRun,
  note: ShadowNote,
): Promise<void> {
  const objective = live.objective.name;
  const telemetry = opts.telemetry ?? NO_TELEMETRY;
  const settle = (result: ShadowNote['result'], agreement?: number) => {
    if (run.timedOut) return; // already written as `timeout`
    note.result = result;
    if (agreement !== undefined) note.agreement = agreement;
  };
  try {
    if (run.timedOut) return; // waited in the queue past the timeout
    // Its own abort under the run's, so a copy aborted by its backend leaves the others alone.
    const controller = Cancellation.under(run.controller.signal);
    const copy: Call = {
      ...live,
      target: s.target,
      // Synthetic, so a Junction downstream keeps copies out of rollout gates and experiment exposure.
      headers: { ...live.headers, 'x-traffic-class': 'synthetic', 'x-shadow-of': live.target.id },
      deadline: performance.now() + run.timeoutMs,
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
    };
    const reply = await opts.send(copy);
    if (reply.status >= 500) {
      discard(reply);
      telemetry.shadow(objective, s.target.id, 'error');
      settle('error');
      return;
    }
    if (s.compare === undefined) {
      // Nothing to compare: drain the answer without keeping it (draining, not
      // destroying, keeps the keep-alive connection).
      if (reply.body !== null && !Buffer.isBuffer(reply.body)) reply.body.on('error', () => undefined).resume();
      return;
    }
    const body = await readBounded(reply.body);
    // The live body finishes when the caller has read it; a stalled caller must not
    // hold this queue slot past the shadow's own timeout.
    const expected = await untilAborted(liveBody, controller.signal);
    if (expected === undefined || body === undefined) return;
    const { agreement, agree } = s.compare(expected, body);
    telemetry.shadow(objective, s.target.id, agree ? 'agree' : 'disagree', agreement);
    settle(agree ? 'agree' : 'disagree', agreement);
  } catch {
    telemetry.shadow(objective, s.target.id, 'error');
    settle('error');
  } finally {
    run.done();
  }
}

/** The promise's value, or undefined once the signal aborts (whichever comes first). */
function untilAborted<T>(promise: Promise<T | undefined>, signal: CancelSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      () => resolve(undefined),
    );
  });
}

/** Passes the live body through unchanged while keeping a bounded copy for the comparison. */
function tee(body: Readable | Buffer | null, done: (copy: Buffer | undefined) => void): Readable | Buffer | null {
  if (body === null || Buffer.isBuffer(body)) {
    done(body ?? undefined);
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const out = new PassThrough();
  body.on('data', (chunk: Buffer) => {
    if (size <= MAX_COMPARE_BYTES) {
      chunks.push(chunk);
      size += chunk.length;
    }
  });
  pipeline(body, out, (err) => done(err || size > MAX_COMPARE_BYTES ? undefined : Buffer.concat(chunks, size)));
  return out;
}

async function readBounded(body: Readable | Buffer | null): Promise<Buffer | undefined> {
  if (body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_COMPARE_BYTES) {
      destroyQuietly(body);
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
