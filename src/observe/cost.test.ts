import { describe, expect, it } from 'vitest';
import type { PriceConfig } from '../config/schema.js';
import type { RoutingTable, Target } from '../routing/types.js';
import { callCost, costFirst, estimateTokens, saneUsage, tokensCost, type CostedCall } from './cost.js';
import { newRecord, type EndedRecord, type RequestRecord } from './record.js';

const price: PriceConfig = {
  inputPerMTok: 2,
  outputPerMTok: 10,
  cachedInputPerMTok: 0.5,
  perRequest: 0.001,
  currency: 'USD',
};

/** A call that was answered with 200 and nothing else said. */
function answered(over: Partial<CostedCall> = {}): CostedCall {
  return {
    usage: undefined,
    cache: undefined,
    status: 200,
    cut: undefined,
    errorCode: undefined,
    upstreamMs: 12,
    bytesIn: undefined,
    bytesOut: 0,
    events: undefined,
    ...over,
  };
}

describe('the cost of a call', () => {
  it('splits the prompt into cached and uncached tokens and adds the per-request price', () => {
    const usage = { prompt: 1_000_000, completion: 500_000, cached: 400_000 };
    // 0.001 + 600k × 2/1M + 400k × 0.5/1M + 500k × 10/1M = 0.001 + 1.2 + 0.2 + 5
    expect(tokensCost(price, usage)).toBeCloseTo(6.401, 10);
    expect(callCost(price, answered({ usage }), true)).toEqual({
      amount: tokensCost(price, usage),
      currency: 'USD',
      estimated: false,
      tokens: usage,
    });
  });

  it('prices cached tokens at the input price when the price has no cached price', () => {
    const { cachedInputPerMTok: _, ...noCached } = price;
    expect(tokensCost(noCached, { prompt: 1_000_000, completion: 0, cached: 1_000_000 })).toBeCloseTo(2.001, 10);
  });

  it('estimates an LLM reply without usage from its bytes (whole body) or its events (stream), and says so', () => {
    const whole = callCost(price, answered({ bytesIn: 400, bytesOut: 803 }), true);
    expect(whole).toMatchObject({ estimated: true, tokens: { prompt: 100, completion: 201 } });
    expect(whole.amount).toBeCloseTo(0.001 + (100 * 2 + 201 * 10) / 1e6, 12);
    const stream = callCost(price, answered({ bytesIn: 40, bytesOut: 9000, events: 30 }), true);
    expect(stream).toMatchObject({ estimated: true, tokens: { prompt: 10, completion: 30 } });
    expect(estimateTokens({ bytesIn: undefined, bytesOut: 0, events: undefined })).toEqual({
      prompt: 0,
      completion: 0,
    });
  });

  it('ignores absurd usage as if absent: negative, fractional or past 10^9 tokens', () => {
    for (const usage of [
      { prompt: -1, completion: 3 },
      { prompt: 1.5, completion: 3 },
      { prompt: 3, completion: 2e9 },
    ]) {
      expect(saneUsage(usage)).toBeUndefined();
      expect(callCost(price, answered({ usage, bytesIn: 8, bytesOut: 8 }), true)).toMatchObject({
        estimated: true,
        tokens: { prompt: 2, completion: 2 },
      });
    }
    // A cached count past the prompt is dropped: the whole prompt at the input price.
    expect(saneUsage({ prompt: 3, completion: 1, cached: 4 })).toEqual({ prompt: 3, completion: 1 });
  });

  it('costs a response-cache hit nothing, not even the per-request price', () => {
    const hit = callCost(price, answered({ cache: 'hit', usage: { prompt: 9, completion: 9 } }), true);
    expect(hit).toEqual({ amount: 0, currency: 'USD', estimated: false, tokens: { prompt: 0, completion: 0 } });
  });

  it('costs a target that never answered nothing, and one that refused only its per-request price', () => {
    expect(callCost(price, answered({ upstreamMs: undefined, status: 502 }), true).amount).toBe(0);
    expect(callCost(price, answered({ status: 429, bytesOut: 4000 }), true)).toEqual({
      amount: 0.001,
      currency: 'USD',
      estimated: false,
    });
    // A stream cut mid-way (status from the cut) was generated: estimated.
    expect(
      callCost(price, answered({ status: 504, cut: 'deadline_exceeded', events: 7 }), true).tokens?.completion,
    ).toBe(7);
  });

  it('charges other objectives (no tokens) their per-request price, never an estimate', () => {
    expect(callCost(price, answered({ bytesIn: 4000, bytesOut: 4000 }), false)).toEqual({
      amount: 0.001,
      currency: 'USD',
      estimated: false,
    });
  });
});

describe('the cost observer', () => {
  const target = (id: string, p: PriceConfig | undefined): Target => ({
    id,
    model: id.split('@')[0]!,
    version: id.split('@')[1]!,
    modelClass: 'generator',
    backend: { type: 'http', protocol: 'openai', endpoints: ['http://x'] } as Target['backend'],
    metadata: undefined,
    price: p,
  });
  const primary = target('chat@1', price);
  const backup = target('cheap@1', { ...price, inputPerMTok: 0, outputPerMTok: 0, perRequest: 0.5, currency: 'EUR' });
  const routing = {
    revision: 3,
    targets: new Map([
      [primary.id, primary],
      [backup.id, backup],
    ]),
    objectives: new Map([['chat', { interface: 'openai' }]]),
  } as unknown as RoutingTable;

  function ended(over: Partial<RequestRecord>): RequestRecord {
    const r = newRecord('r1', 'POST', '/v1/chat/completions', 0);
    r.objective = 'chat';
    r.outcome = { objective: 'chat', target: primary, revision: 3 } as RequestRecord['outcome'];
    r.status = 200;
    r.upstreamMs = 5;
    return Object.assign(r, over);
  }

  it('runs first and prices the fallback target that answered; a static answer carries no cost', () => {
    const seen: Array<EndedRecord['cost']> = [];
    const observers = costFirst([(r) => seen.push(r.cost)], () => routing);
    const notify = (r: RequestRecord) => observers.forEach((o) => o(r));
    notify(ended({ usage: { prompt: 1_000_000, completion: 0 } }));
    notify(ended({ fallback: 'cheap@1', usage: { prompt: 1_000_000, completion: 0 } }));
    notify(ended({ fallback: 'static' }));
    expect(seen[0]).toMatchObject({ currency: 'USD', estimated: false });
    expect(seen[0]!.amount).toBeCloseTo(2.001, 10);
    expect(seen[1]).toMatchObject({ amount: 0.5, currency: 'EUR' });
    expect(seen[2]).toBeUndefined();
  });

  it('leaves records of unpriced targets and undecided requests without a cost, and adds nothing for no observers', () => {
    const seen: Array<EndedRecord['cost']> = [];
    const [cost] = costFirst([(r) => seen.push(r.cost)], () => routing);
    const free = ended({});
    free.outcome = { objective: 'chat', target: target('free@1', undefined), revision: 3 } as RequestRecord['outcome'];
    cost!(free);
    cost!(ended({ outcome: undefined }));
    expect(free.cost).toBeUndefined();
    expect(costFirst([], () => routing)).toEqual([]);
  });
});
