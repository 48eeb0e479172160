import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DecisionLines, DecisionLog, toDecisionRecord } from './decision-log.js';
import type { Outcome, Target } from '../routing/types.js';
import { newRecord, type RequestRecord } from './record.js';
import { NO_TELEMETRY, type Telemetry } from './telemetry.js';

function record(i: number, objective = 'cw'): RequestRecord {
  const r = newRecord(`req-${i}`, 'POST', `/v1/objectives/${objective}`, 1000);
  r.objective = objective;
  r.started = true;
  r.status = 200;
  r.end = 1002.5;
  return r;
}

/** A sink that keeps each write it is handed, as a string. */
function recordingSink(): { writes: string[]; sink: Writable } {
  const writes: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return { writes, sink };
}

function lines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('decision log', () => {
  it('samples per objective with the injected randomness', async () => {
    const sink = new PassThrough();
    let out = '';
    sink.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const draws = [0.1, 0.9, 0.3, 0.7];
    const log = new DecisionLog({
      sink,
      sampleRate: (o) => (o === 'half' ? 0.5 : o === 'never' ? 0 : 1),
      random: () => draws.shift()!,
    });
    for (let i = 0; i < 4; i++) log.observer(record(i, 'half'));
    log.observer(record(10, 'never'));
    log.observer(record(11, 'all'));
    await log.drained();
    expect(lines(out).map((l) => l.requestId)).toEqual(['req-0', 'req-2', 'req-11']);
  });

  it('a sink that fails drops every line from then on, counted, says so once, and never throws into a request', async () => {
    const sink = new Writable({
      write(_chunk: Buffer, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    const failures: string[] = [];
    const log = new DecisionLog({ sink, sampleRate: () => 1, onSinkError: (err) => failures.push(err.message) });
    log.observer(record(1));
    await log.drained(); // handed to the sink, which fails it
    for (let i = 2; i <= 5; i++) expect(() => log.observer(record(i))).not.toThrow();
    await log.drained();
    await log.close(); // shutdown does not wait for a drain a dead sink cannot give
    expect(failures).toEqual(['disk full']);
    expect(log.written).toBe(0);
    expect(log.dropped).toBe(5); // the line the sink failed, and the four after
  });

  it('skips requests that never reached an objective', async () => {
    const sink = new PassThrough();
    const log = new DecisionLog({ sink, sampleRate: () => 1 });
    const r = record(1);
    r.started = false;
    log.observer(r);
    await log.drained();
    expect(log.written).toBe(0);
  });

  it('lines gather into one write per batch: by time, or at once when 64 KiB wait', async () => {
    const { writes, sink } = recordingSink();
    const log = new DecisionLog({ sink, sampleRate: () => 1, flushDelayMs: 60_000 });
    for (let i = 0; i < 10; i++) log.observer(record(i));
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([]); // waiting for the batch timer
    await log.drained(); // who waits for the log does not wait for the timer
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trim().split('\n')).toHaveLength(10);

    const big = { ...record(11), requestId: 'x'.repeat(70 * 1024) };
    log.observer(big);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(2); // past 64 KiB: written without waiting for the timer
    await log.close();
  });

  it('a line still waiting on its shadow copies is written as soon as they settle when someone waits for the log', async () => {
    const { writes, sink } = recordingSink();
    // A batch timer that never fires within the test: only the waiting may flush the line.
    const log = new DecisionLog({ sink, sampleRate: () => 1, flushDelayMs: 60_000 });
    let settle!: () => void;
    const r = record(1);
    r.shadowsSettled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    log.observer(r);
    const closed = log.close(); // shutting down while the shadow is still out
    settle();
    await closed;
    expect(lines(writes.join(''))).toMatchObject([{ requestId: 'req-1' }]);
  });

  it('a slow sink drops lines past the buffer cap and counts them, never blocking', async () => {
    const drops: number[] = [];
    const telemetry: Telemetry = {
      ...NO_TELEMETRY,
      dropped: (sink, n = 1) => {
        if (sink === 'decision_log') drops.push(n);
      },
    };
    const held: Array<() => void> = [];
    let received = '';
    let stuck = true;
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.toString();
        if (stuck) held.push(cb);
        else cb();
      },
    });
    const log = new DecisionLog({ sink, sampleRate: () => 1, maxBufferBytes: 2000, telemetry });
    log.observer(record(0));
    void log.drained(); // hands the first batch over now (no wait for the batch timer); the sink holds it
    expect(held.length).toBe(1);
    for (let i = 1; i <= 100; i++) log.observer(record(i)); // returns at once although the sink is stuck
    expect(log.dropped).toBeGreaterThan(0);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(log.dropped);

    // Let the sink go: everything not dropped arrives, in order.
    stuck = false;
    while (held.length) held.shift()!();
    await log.drained();
    const got = lines(received);
    expect(got.length + log.dropped).toBe(101);
    expect(got.length).toBe(log.written);
    expect(got[0]!.requestId).toBe('req-0');
  });

  it('writes each line exactly as JSON.stringify would, escapes and all', () => {
    const outcome = (rule: string, experiment?: string, cell?: string): Outcome =>
      ({
        objective: 'cw',
        target: { id: 'ranker@7' } as Target,
        rule,
        experiment,
        cell,
        revision: 12,
      }) as Outcome;
    const variants: Array<(r: RequestRecord) => void> = [
      () => {}, // no decision: every outcome field null
      (r) => {
        r.outcome = outcome('experiment:cw-42', 'cw-42', 'B');
        r.unit = 'user-1';
        r.context = { country: 'BR', device: 'tv' };
        r.client = 'web';
      },
      (r) => {
        r.outcome = outcome('default');
        r.unit = 'quote " backslash \\ newline \n tab \t nul \u0000 é ☃ \ud83d\ude00 lone \ud800';
        r.context = { 'x"y': 'a\\b', emoji: '\ud83d\ude00' };
        r.requestId = '</script>\u2028';
      },
      (r) => {
        r.outcome = outcome('rule:br');
        r.status = 502;
        r.errorCode = 'upstream_error';
        r.fallback = 'static';
        r.trafficClass = 'synthetic';
        r.shadows = [{ target: 'ranker@8', result: 'disagree', agreement: 0.25 }];
        r.usage = { prompt: 12, completion: 40 };
        r.end = r.start + 123.4567891;
      },
      (r) => {
        r.via = 'decide';
        r.outcome = outcome('pin');
      },
      (r) => {
        r.end = r.start; // zero latency
        r.start = 0.1;
      },
    ];
    const lines = new DecisionLines();
    for (const change of variants) {
      const r = record(1);
      change(r);
      expect(lines.line(r)).toBe(JSON.stringify(toDecisionRecord(r)));
      expect(lines.line(r)).toBe(JSON.stringify(toDecisionRecord(r))); // the outcome's part, now remembered
    }
  });
});
