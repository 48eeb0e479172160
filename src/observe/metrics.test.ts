import { describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../../test/support/prometheus.js';
import { createMetrics } from './metrics.js';

describe('telemetry events as Prometheus metrics', () => {
  it('count each event under its labels', async () => {
    const { telemetry: t, registry } = createMetrics();
    t.fallback('cw', 'ranker@7', 'ranker@6', 'error');
    t.fallback('cw', 'ranker@7', 'ranker@6', 'error');
    t.fallback('cw', 'ranker@6', 'static', 'timeout');
    t.retry('cw', 'ranker@7');
    t.hedge('cw', 'ranker@7');
    t.shadow('cw', 'ranker@8', 'sent');
    t.shadow('cw', 'ranker@8', 'agree', 0.9);
    t.rejection('cw', 'web', 'rate_limited');
    t.rollouts([{ objective: 'cw', candidate: 'ranker@7', percent: 25 }]);
    t.configRevision(17);
    t.endpointHealthy('ranker@7', 'http://10.0.0.7:8000', false);
    t.dropped('decision_log', 3);
    const s = parsePrometheus(await registry.metrics());
    expect(
      sampleValue(s, 'junction_fallbacks_total', {
        objective: 'cw',
        from: 'ranker@7',
        to: 'ranker@6',
        reason: 'error',
      }),
    ).toBe(2);
    expect(sampleValue(s, 'junction_fallbacks_total', { to: 'static', reason: 'timeout' })).toBe(1);
    expect(sampleValue(s, 'junction_retries_total', { objective: 'cw', target: 'ranker@7' })).toBe(1);
    expect(sampleValue(s, 'junction_hedges_total', { objective: 'cw', target: 'ranker@7' })).toBe(1);
    expect(sampleValue(s, 'junction_shadow_total', { target: 'ranker@8', result: 'sent' })).toBe(1);
    expect(sampleValue(s, 'junction_shadow_agreement_count', { target: 'ranker@8' })).toBe(1);
    expect(
      sampleValue(s, 'junction_rejections_total', { objective: 'cw', client: 'web', reason: 'rate_limited' }),
    ).toBe(1);
    expect(sampleValue(s, 'junction_rollout_percent', { objective: 'cw', candidate: 'ranker@7' })).toBe(25);
    expect(sampleValue(s, 'junction_config_revision')).toBe(17);
    expect(sampleValue(s, 'junction_endpoint_healthy', { backend: 'ranker@7', endpoint: 'http://10.0.0.7:8000' })).toBe(
      0,
    );
    expect(sampleValue(s, 'junction_dropped_total', { sink: 'decision_log' })).toBe(3);
  });

  it("are one Junction's own: two sets of metrics in a process count apart", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.telemetry.retry('cw', 'ranker@7');
    a.telemetry.retry('cw', 'ranker@7');
    b.telemetry.retry('cw', 'ranker@7');
    expect(
      sampleValue(parsePrometheus(await a.registry.metrics()), 'junction_retries_total', { objective: 'cw' }),
    ).toBe(2);
    expect(
      sampleValue(parsePrometheus(await b.registry.metrics()), 'junction_retries_total', { objective: 'cw' }),
    ).toBe(1);
  });
});
