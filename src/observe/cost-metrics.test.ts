import { describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../../test/support/prometheus.js';
import type { Outcome } from '../routing/types.js';
import { createMetrics } from './metrics.js';
import { newRecord, type RequestRecord } from './record.js';

const outcome = { objective: 'chat', target: { id: 'chat@1' }, rule: 'default', cell: undefined } as unknown as Outcome;

function record(over: Partial<RequestRecord>): RequestRecord {
  const r = newRecord('r', 'POST', '/v1/chat/completions', 0);
  return Object.assign(r, { objective: 'chat', started: true, outcome, status: 200, end: 1, ...over });
}

describe('cost metrics', () => {
  it("count cost by objective, answering target, client and currency, and by each of the client's tags", async () => {
    const m = createMetrics();
    m.observeRevision({
      number: 1,
      objectives: new Map(),
      config: { clients: { search: { tags: { team: 'search', project: 'x' } }, bare: { tags: {} } } },
    });
    m.start(record({}), {});
    m.end(record({ client: 'search', cost: { amount: 0.25, currency: 'USD', estimated: false } }));
    m.start(record({}), {});
    m.end(record({ client: 'search', cost: { amount: 0.5, currency: 'USD', estimated: true } }));
    m.start(record({}), {});
    m.end(record({ client: 'bare', fallback: 'cheap@1', cost: { amount: 2, currency: 'EUR', estimated: false } }));
    m.start(record({}), {});
    m.end(
      record({
        usage: { prompt: 10, completion: 3, cached: 4 },
        cost: { amount: 1, currency: 'USD', estimated: false },
      }),
    );
    const s = parsePrometheus(await m.registry.metrics());
    const cost = (labels: Record<string, string>) => sampleValue(s, 'junction_cost_total', labels);
    expect(cost({ objective: 'chat', target: 'chat@1', client: 'search', currency: 'USD' })).toBe(0.75);
    expect(cost({ objective: 'chat', target: 'cheap@1', client: 'bare', currency: 'EUR' })).toBe(2);
    expect(cost({ objective: 'chat', target: 'chat@1', client: '', currency: 'USD' })).toBe(1);
    const byTag = (labels: Record<string, string>) => sampleValue(s, 'junction_cost_by_tag_total', labels);
    expect(byTag({ tag: 'team', value: 'search', currency: 'USD' })).toBe(0.75);
    expect(byTag({ tag: 'project', value: 'x', currency: 'USD' })).toBe(0.75);
    expect(s.filter((x) => x.name === 'junction_cost_by_tag_total')).toHaveLength(2);
    expect(sampleValue(s, 'junction_tokens_total', { client: 'anonymous', kind: 'cached' })).toBe(4);
  });
});
