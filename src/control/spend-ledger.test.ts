import { describe, expect, it } from 'vitest';
import { newRecord, type RequestRecord } from '../observe/record.js';
import type { Outcome } from '../routing/types.js';
import { SpendLedger, type SpendLedgerOptions } from './spend-ledger.js';
import type { SpendEntry } from './spend-types.js';

const H = Date.UTC(2026, 11, 3, 10);
const outcome = { objective: 'chat', target: { id: 'chat@1' } } as unknown as Outcome;

function priced(amount: number, over: Partial<RequestRecord> = {}): RequestRecord {
  const r = newRecord('r', 'POST', '/v1/chat/completions', 0);
  return Object.assign(r, {
    outcome,
    client: 'search',
    cost: { amount, currency: 'USD', estimated: false, tokens: { prompt: 10, completion: 2, cached: 4 } },
    ...over,
  });
}

function ledger(over: Partial<SpendLedgerOptions> & { batches?: SpendEntry[][] } = {}) {
  const batches = over.batches ?? [];
  let now = H + 60_000;
  const drops: number[] = [];
  const l = new SpendLedger({
    addSpend: async (entries) => {
      batches.push(entries.map((e) => ({ ...e })));
    },
    tagsOf: (client) => (client === 'search' ? '{"team":"search"}' : '{}'),
    flushMs: 3_600_000,
    onDropped: (n) => drops.push(n),
    now: () => now,
    ...over,
  });
  return { l, batches, drops, at: (ms: number) => (now = ms) };
}

describe('the spend ledger', () => {
  it('sums calls per hour and key in memory and flushes them as one batch', async () => {
    const { l, batches, at } = ledger();
    l.observe(priced(0.5));
    l.observe(priced(0.25, { cost: { amount: 0.25, currency: 'USD', estimated: true } }));
    l.observe(priced(1, { fallback: 'cheap@1' }));
    at(H + 3_600_000); // the next hour
    l.observe(priced(2));
    // Unpriced calls count their reported tokens; calls with neither cost nor tokens are not spend.
    l.observe(priced(0, { cost: undefined, usage: { prompt: 7, completion: 1 }, client: undefined }));
    l.observe(priced(0, { cost: undefined }));
    l.observe(priced(0, { cost: undefined, cache: 'hit', usage: { prompt: 7, completion: 1 } }));
    expect(l.size).toBe(4);
    await l.flush();
    expect(l.size).toBe(0);
    const [batch] = batches;
    expect(batch).toHaveLength(4);
    expect(batch).toContainEqual({
      hour: H,
      client: 'search',
      objective: 'chat',
      target: 'chat@1',
      currency: 'USD',
      tags: '{"team":"search"}',
      cost: 0.75,
      prompt: 10,
      completion: 2,
      cached: 4,
      requests: 2,
      estimated: 1,
    });
    expect(batch).toContainEqual(expect.objectContaining({ hour: H, target: 'cheap@1', cost: 1 }));
    expect(batch).toContainEqual(expect.objectContaining({ hour: H + 3_600_000, cost: 2 }));
    expect(batch).toContainEqual(
      expect.objectContaining({ client: '', currency: '', tags: '{}', prompt: 7, completion: 1, requests: 1 }),
    );
    await l.close();
  });

  it('keeps a failed batch for the next flush, merged with what came meanwhile', async () => {
    let fail = true;
    const batches: SpendEntry[][] = [];
    const errors: unknown[] = [];
    const { l } = ledger({
      addSpend: async (entries) => {
        if (fail) throw new Error('store down');
        batches.push(entries.map((e) => ({ ...e })));
      },
      onFlushError: (err) => errors.push(err),
    });
    l.observe(priced(1));
    await l.flush();
    expect(errors).toHaveLength(1);
    expect(l.size).toBe(1);
    l.observe(priced(2));
    fail = false;
    await l.flush();
    expect(batches).toEqual([[expect.objectContaining({ cost: 3, requests: 2 })]]);
  });

  it('holds at most maxEntries keys, counting what it drops (new keys, and on close what never flushed)', async () => {
    const { l, drops } = ledger({
      maxEntries: 2,
      addSpend: async () => {
        throw new Error('store down');
      },
    });
    l.observe(priced(1, { client: 'a' }));
    l.observe(priced(1, { client: 'b' }));
    l.observe(priced(1, { client: 'c' })); // a third key: dropped
    l.observe(priced(1, { client: 'a' })); // an existing key still adds up
    expect(l.size).toBe(2);
    expect(drops).toEqual([1]);
    await l.close();
    expect(drops).toEqual([1, 2]);
    l.observe(priced(1)); // closed: nothing more is held
    expect(l.size).toBe(0);
  });

  it('flushes one batch at a time: a flush asked during another waits, then sends what is new', async () => {
    const batches: SpendEntry[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { l } = ledger({
      addSpend: async (entries) => {
        batches.push(entries.map((e) => ({ ...e })));
        if (batches.length === 1) await gate;
      },
    });
    l.observe(priced(1));
    const first = l.flush();
    l.observe(priced(2));
    const second = l.flush();
    release();
    await Promise.all([first, second]);
    expect(batches.map((b) => b.map((e) => e.cost))).toEqual([[1], [2]]);
  });
});
