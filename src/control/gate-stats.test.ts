import { describe, expect, it } from 'vitest';
import { createMetrics, LATENCY_BUCKETS } from '../observe/metrics.js';
import { endRecord, newRecord, type RequestRecord } from '../observe/record.js';
import type { Outcome, Step } from '../routing/types.js';
import type { Balance, TrafficClass } from '../config/schema.js';
import { GateStats, since, sumRows, encodeHistograms } from './gate-stats.js';
import { rolloutStep } from './rollout-step.js';
import { parsePrometheus, sampleValue } from '../../test/support/prometheus.js';

/** A Junction's metrics and the gates, both fed every ended request as the data plane does. */
function gatesOnMetrics() {
  const metrics = createMetrics();
  const stats = new GateStats();
  stats.track(new Map([['cw', { scoreSample: 0, baseline: 'ranker@6', candidate: 'ranker@7' }]]));
  const outcomes = new Map<string, Outcome>();
  /** ranker@7 as the rollout sent it, ranker@6 as the default the rest fell through to. */
  const outcome = (target: string) => {
    let o = outcomes.get(target);
    if (!o) outcomes.set(target, (o = routedTo('cw', target, target === 'ranker@7' ? 'rollout' : 'default')));
    return o;
  };
  let n = 0;
  const serve = (
    target: string,
    ms: number,
    status = 200,
    trafficClass: TrafficClass = 'live',
    edit?: (r: RequestRecord) => void,
  ) => {
    const r = newRecord(`r${n++}`, 'POST', '/v1/objectives/cw', 0);
    r.objective = 'cw';
    r.outcome = outcome(target);
    r.status = status;
    r.trafficClass = trafficClass;
    edit?.(r);
    const ended = endRecord(r, { writableFinished: true, headersSent: true, statusCode: status }, ms);
    metrics.end(ended);
    stats.observe(ended);
  };
  const arm = (target: string) => stats.entries().find((e) => e.target === target)!.counters;
  return { metrics, stats, serve, arm };
}

/** An outcome as routing makes it: the step that decided, and the rule it shows. */
function routedTo(objective: string, target: string, step: Step, balance?: Balance): Outcome {
  const rule = step === 'rule' ? 'rule:r0' : step === 'experiment' ? 'experiment:e' : step;
  return { objective, target: { id: target }, step, rule, balance } as Outcome;
}

describe("gate statistics count as the Junction's /metrics series do", () => {
  it('a caller who left mid-reply counts as an error, not a success (the record, not the default status)', () => {
    const { metrics, stats } = gatesOnMetrics();
    const record = newRecord('r1', 'POST', '/v1/objectives/cw', 0);
    record.objective = 'cw';
    record.outcome = routedTo('cw', 'ranker@7', 'rollout');
    record.status = 200; // the status the headers went out with
    const ended = endRecord(record, { writableFinished: false, headersSent: true, statusCode: 200 }, 10);
    metrics.end(ended);
    stats.observe(ended);
    expect(stats.entries().find((e) => e.target === 'ranker@7')).toEqual({
      objective: 'cw',
      target: 'ranker@7',
      counters: expect.objectContaining({ requests: 1, errors: 1 }),
    });
  });

  it('an arm counts from when it is tracked, not what /metrics saw before the rollout', () => {
    const metrics = createMetrics();
    const stats = new GateStats();
    const o = routedTo('cw', 'ranker@6', 'default');
    const serve = (status: number) => {
      const r = newRecord('r', 'POST', '/v1/objectives/cw', 0);
      r.objective = 'cw';
      r.outcome = o;
      r.status = status;
      const ended = endRecord(r, { writableFinished: true, headersSent: true, statusCode: status }, 5);
      metrics.end(ended);
      stats.observe(ended);
    };
    for (let i = 0; i < 1000; i++) serve(503); // long before any rollout
    stats.track(new Map([['cw', { scoreSample: 0, baseline: 'ranker@6', candidate: 'ranker@7' }]]));
    for (let i = 0; i < 10; i++) serve(200);
    const arm = (t: string) => stats.entries().find((e) => e.target === t)!.counters;
    expect(arm('ranker@6')).toMatchObject({ requests: 10, errors: 0 });
    expect(arm('ranker@7')).toMatchObject({ requests: 0, errors: 0 }); // published from the start, so a step can begin on it
    stats.track(new Map());
    expect(stats.entries()).toEqual([]); // no rollout, nothing published
  });

  it("requests, errors and the latency histogram are /metrics' live series, buckets and all", async () => {
    const { metrics, serve, arm } = gatesOnMetrics();
    for (let i = 0; i < 98; i++) serve('ranker@7', 12);
    serve('ranker@7', 400, 503);
    serve('ranker@7', 40, 200, 'live', (r) => {
      r.fallback = 'ranker@6';
    }); // rescued: still the candidate's failure
    for (let i = 0; i < 50; i++) serve('ranker@7', 5000, 500, 'test'); // never counts toward gates (SPEC §2.1)
    const c = arm('ranker@7');
    const series = async (name: string, le?: string) =>
      sampleValue(parsePrometheus(await metrics.registry.metrics()), name, {
        objective: 'cw',
        target: 'ranker@7',
        traffic_class: 'live',
        ...(le === undefined ? {} : { le }),
      });
    expect(c.requests).toBe(await series('junction_request_duration_seconds_count'));
    expect(c.requests).toBe(100);
    expect(c.errors).toBe(await series('junction_failed_requests_total'));
    expect(c.errors).toBe(2);
    // The cumulative bucket at le=0.02 (20 ms) is what the histogram holds below it.
    const below20 = c.buckets.slice(0, LATENCY_BUCKETS.indexOf(0.02) + 1).reduce((a, b) => a + b, 0);
    expect(below20).toBe(98);
    expect(below20).toBe(await series('junction_request_duration_seconds_bucket', '0.02'));
  });

  it('a gate trips on the latency and error rate those series show', () => {
    const { serve, arm } = gatesOnMetrics();
    const startC = (() => {
      serve('ranker@7', 1);
      return arm('ranker@7');
    })();
    const startB = (() => {
      serve('ranker@6', 1);
      return arm('ranker@6');
    })();
    for (let i = 0; i < 600; i++) serve('ranker@6', 20);
    for (let i = 0; i < 600; i++) serve('ranker@7', i % 10 === 0 ? 400 : 20); // p99 in the 500 ms bucket
    const rollout = {
      candidate: 'ranker@7',
      percent: 5,
      state: 'running' as const,
      steps: [5, 100],
      gates: { minRequests: 500, maxP99Ratio: 1.5 },
    };
    const slow = rolloutStep({
      rollout,
      candidate: since(arm('ranker@7'), startC),
      baseline: since(arm('ranker@6'), startB),
      heldSeconds: 0,
    });
    expect(slow.kind).toBe('rollback');
    expect(slow.reason).toMatch(/p99/);
    expect(since(arm('ranker@7'), startC).p99Ms).toBe(500);
    expect(since(arm('ranker@6'), startB).p99Ms).toBe(20);

    const { serve: serve2, arm: arm2 } = gatesOnMetrics();
    for (let i = 0; i < 600; i++) serve2('ranker@7', 20, i % 20 === 0 ? 502 : 200); // 5% errors
    const failing = rolloutStep({
      rollout: { ...rollout, gates: { minRequests: 500, maxErrorRate: 0.01 } },
      candidate: since(arm2('ranker@7'), {
        requests: 0,
        errors: 0,
        buckets: [],
        ttft: [],
        agree: 0,
        disagree: 0,
        scores: [],
      }),
      baseline: since(arm2('ranker@7'), arm2('ranker@7')),
      heldSeconds: 0,
    });
    expect(failing.kind).toBe('rollback');
    expect(failing.reason).toMatch(/error rate/);
  });

  it('what a process publishes never goes down: an arm whose rollout ends is paused, and goes on without the traffic in between', () => {
    const { stats, serve, arm } = gatesOnMetrics();
    for (let i = 0; i < 10; i++) serve('ranker@7', 5);
    expect(arm('ranker@7').requests).toBe(10);
    stats.track(new Map()); // the rollout ends
    expect(stats.entries()).toEqual([]);
    for (let i = 0; i < 7; i++) serve('ranker@7', 5); // traffic while no rollout runs
    stats.track(new Map([['cw', { scoreSample: 0, baseline: 'ranker@6', candidate: 'ranker@7' }]])); // a new one begins
    expect(arm('ranker@7').requests).toBe(10);
    serve('ranker@7', 5);
    expect(arm('ranker@7')).toMatchObject({ requests: 11, errors: 0 });
    expect(arm('ranker@7').buckets.reduce((a, b) => a + b, 0)).toBe(11);
  });

  it('rows a replica of an earlier release published over other bounds add requests and errors, never their histograms', () => {
    const earlier = new Array(20).fill(0).map((_, i) => (i === 3 ? 10 : 0));
    const first = { target: 'm@2', requests: 4, errors: 0, buckets: JSON.stringify(earlier) }; // the first release: an array
    const old = {
      target: 'm@2',
      requests: 6,
      errors: 1,
      buckets: JSON.stringify({ latency: earlier, ttft: earlier, agree: 0, disagree: 0, scores: [] }),
    };
    const ours = {
      target: 'm@2',
      requests: 5,
      errors: 0,
      buckets: encodeHistograms({
        requests: 5,
        errors: 0,
        buckets: [0, 0, 5],
        ttft: [],
        agree: 0,
        disagree: 0,
        scores: [],
      }),
    };
    const sum = sumRows([first, old, ours]).get('m@2')!;
    expect(sum).toMatchObject({ requests: 15, errors: 1 });
    expect(sum.buckets.slice(0, 4)).toEqual([0, 0, 5, 0]);
    expect(sum.ttft.every((n) => n === 0)).toBe(true);
    // And the other way round: an earlier release's leader, reading `latency`/`ttft`, finds none of ours to misread.
    const published = JSON.parse(ours.buckets) as Record<string, unknown>;
    expect(published.latency).toBeUndefined();
    expect(published.ttft).toBeUndefined();
  });
});

describe('score sampling', () => {
  it('a reply nested deeper than the stack is skipped, not thrown on a timer (which would end the process)', async () => {
    const stats = new GateStats();
    stats.track(new Map([['cw', { scoreSample: 1, baseline: 'ranker@6', candidate: 'ranker@7' }]]));
    const record = newRecord('r2', 'POST', '/v1/objectives/cw', 0);
    record.outcome = routedTo('cw', 'ranker@7', 'rollout');
    const deep = Buffer.from(`${'['.repeat(30_000)}0.5${']'.repeat(30_000)}`);
    stats.takeReply(record, deep);
    stats.takeReply(record, Buffer.from('[0.25, 0.75]'));
    await new Promise((r) => setImmediate(r));
    // The deep one was skipped; the plain one was scored.
    const scored = stats.entries().find((e) => e.target === 'ranker@7')!.counters.scores;
    expect(scored.reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });
});

describe('a balancer rollout: two arms on one target (issue 23, item 6)', () => {
  it('the candidate chat@1 balance=prefix and the default chat@1 are counted apart, and maxTtftRatio judges them', () => {
    const metrics = createMetrics();
    const stats = new GateStats();
    const candidate = { target: 'chat@1', balance: 'prefix' as const };
    stats.track(new Map([['chat', { scoreSample: 0, baseline: 'chat@1', candidate }]]));
    const base = routedTo('chat', 'chat@1', 'default');
    const arm = routedTo('chat', 'chat@1', 'rollout', 'prefix');
    let n = 0;
    const serve = (o: Outcome, ttftMs: number, status = 200) => {
      const r = newRecord(`r${n++}`, 'POST', '/v1/chat/completions', 0);
      r.objective = 'chat';
      r.outcome = o;
      r.status = status;
      r.firstByte = ttftMs;
      const ended = endRecord(r, { writableFinished: true, headersSent: true, statusCode: status }, ttftMs + 100);
      metrics.end(ended);
      stats.observe(ended);
    };
    for (let i = 0; i < 600; i++) serve(base, 20);
    for (let i = 0; i < 600; i++) serve(arm, 400, i % 100 === 0 ? 503 : 200);
    const published = (label: string) => stats.entries().find((e) => e.target === label)!.counters;
    expect(published('chat@1')).toMatchObject({ requests: 600, errors: 0 });
    expect(published('chat@1 balance=prefix')).toMatchObject({ requests: 600, errors: 6 });
    const zero = { requests: 0, errors: 0, buckets: [], ttft: [], agree: 0, disagree: 0, scores: [] };
    const c = since(published('chat@1 balance=prefix'), zero);
    const b = since(published('chat@1'), zero);
    expect(c.ttftP99Ms).toBe(500);
    expect(b.ttftP99Ms).toBe(20);
    const step = rolloutStep({
      rollout: {
        candidate,
        percent: 5,
        state: 'running',
        steps: [5, 100],
        gates: { minRequests: 500, maxTtftRatio: 2 },
      },
      candidate: c,
      baseline: b,
      heldSeconds: 0,
    });
    expect(step.kind).toBe('rollback');
    expect(step.reason).toMatch(/time to first token/);
    // /metrics still has the one series of the target, both arms in it.
    expect(metrics.liveCounts('chat', 'chat@1').requests).toBe(1200);
  });
});

describe('a gate counts only the traffic the rollout routed (issue 27)', () => {
  it('requests a rule, an experiment, a pin or an override send to either arm are not counted', () => {
    const metrics = createMetrics();
    const stats = new GateStats();
    stats.track(new Map([['cw', { scoreSample: 1, baseline: 'm@1', candidate: 'm@2' }]]));
    const serve = (o: Outcome, status = 200) => {
      const r = newRecord('r', 'POST', '/v1/objectives/cw', 0);
      r.objective = 'cw';
      r.outcome = o;
      r.status = status;
      const ended = endRecord(r, { writableFinished: true, headersSent: true, statusCode: status }, 5);
      metrics.end(ended);
      stats.observe(ended);
      return ended;
    };
    // The case: an experiment sends its cell to the candidate's target, and that cell fails.
    for (const step of ['experiment', 'rule', 'pin', 'override'] as const) {
      for (let i = 0; i < 10; i++) serve(routedTo('cw', 'm@2', step), 503);
      for (let i = 0; i < 10; i++) serve(routedTo('cw', 'm@1', step), 503);
    }
    const published = (label: string) => stats.entries().find((e) => e.target === label)!.counters;
    expect(published('m@2')).toMatchObject({ requests: 0, errors: 0 });
    expect(published('m@1')).toMatchObject({ requests: 0, errors: 0 });
    expect(metrics.liveCounts('cw', 'm@2').requests).toBe(40); // /metrics counts them all, by target
    serve(routedTo('cw', 'm@2', 'rollout'), 500);
    serve(routedTo('cw', 'm@1', 'default'));
    serve(routedTo('cw', 'm@1', 'default'));
    expect(published('m@2')).toMatchObject({ requests: 1, errors: 1 });
    expect(published('m@1')).toMatchObject({ requests: 2, errors: 0 });
    // Scores are sampled from the rollout's own traffic only.
    expect(stats.wantsReply(serve(routedTo('cw', 'm@2', 'experiment')))).toBe(false);
    expect(stats.wantsReply(serve(routedTo('cw', 'm@2', 'rollout')))).toBe(true);
  });

  it("a request the rollout sent to an earlier candidate (decided on the revision before) is not the new candidate's", () => {
    const stats = new GateStats();
    stats.track(new Map([['cw', { scoreSample: 0, baseline: 'm@1', candidate: 'm@3' }]]));
    const r = newRecord('r', 'POST', '/v1/objectives/cw', 0);
    r.objective = 'cw';
    r.outcome = routedTo('cw', 'm@2', 'rollout');
    r.status = 200;
    stats.observe(endRecord(r, { writableFinished: true, headersSent: true, statusCode: 200 }, 5));
    expect(stats.entries().map((e) => [e.target, e.counters.requests])).toEqual([
      ['m@3', 0],
      ['m@1', 0],
    ]);
  });
});
