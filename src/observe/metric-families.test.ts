import { AggregatorRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../../test/support/prometheus.js';
import { HistogramFamily, ValueFamily } from './metric-families.js';

function worker() {
  const registry = new Registry();
  const counter = new ValueFamily(registry, { name: 't_total', help: 'h', type: 'counter', labelNames: ['a'] });
  const histogram = new HistogramFamily(registry, {
    name: 't_seconds',
    help: 'h',
    labelNames: ['a'],
    buckets: [0.001, 0.01, 0.1],
  });
  return { registry, counter, histogram };
}

describe('metric families', () => {
  it('expose counters and cumulative histogram buckets in Prometheus text (le is inclusive)', async () => {
    const w = worker();
    w.counter.cell(['x']).value += 3;
    const h = w.histogram.cell(['x']);
    for (const v of [0.0005, 0.001, 0.005, 0.1, 3]) h.observe(v);
    const s = parsePrometheus(await w.registry.metrics());
    expect(sampleValue(s, 't_total', { a: 'x' })).toBe(3);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '0.001' })).toBe(2);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '0.01' })).toBe(3);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '0.1' })).toBe(4);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '+Inf' })).toBe(5);
    expect(sampleValue(s, 't_seconds_count', { a: 'x' })).toBe(5);
    expect(sampleValue(s, 't_seconds_sum', { a: 'x' })).toBeCloseTo(3.1065, 6);
  });

  it('the same label values give the same cell', () => {
    const w = worker();
    expect(w.counter.cell(['x'])).toBe(w.counter.cell(['x']));
    expect(w.counter.cell(['x'])).not.toBe(w.counter.cell(['y']));
  });

  it("aggregate across workers with prom-client's AggregatorRegistry (--workers)", async () => {
    const a = worker();
    const b = worker();
    a.counter.cell(['x']).value = 2;
    b.counter.cell(['x']).value = 5;
    a.histogram.cell(['x']).observe(0.002);
    b.histogram.cell(['x']).observe(0.05);
    const merged = AggregatorRegistry.aggregate([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]);
    const s = parsePrometheus(await merged.metrics());
    expect(sampleValue(s, 't_total', { a: 'x' })).toBe(7);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '0.01' })).toBe(1);
    expect(sampleValue(s, 't_seconds_bucket', { a: 'x', le: '0.1' })).toBe(2);
    expect(sampleValue(s, 't_seconds_count', { a: 'x' })).toBe(2);
  });
});
