import { describe, expect, it } from 'vitest';
import { endRecord, newRecord } from '../observe/record.js';
import type { Outcome } from '../routing/types.js';
import { GateStats } from './gate-stats.js';

describe('gate statistics', () => {
  it('a caller who left mid-reply counts as an error, not a success (the record, not the default status)', () => {
    const stats = new GateStats();
    stats.track(new Map([['cw', { scoreSample: 0 }]]));
    const record = newRecord('r1', 'POST', '/v1/objectives/cw', 0);
    record.outcome = { objective: 'cw', target: { id: 'ranker@7' } } as Outcome;
    record.status = 200; // the status the headers went out with
    stats.observe(endRecord(record, { writableFinished: false, headersSent: true, statusCode: 200 }, 10));
    expect(stats.entries()).toEqual([{ objective: 'cw', target: 'ranker@7', counters: expect.objectContaining({ requests: 1, errors: 1 }) }]);
  });
});

describe('score sampling', () => {
  it('a reply nested deeper than the stack is skipped, not thrown on a timer (which would end the process)', async () => {
    const stats = new GateStats();
    stats.track(new Map([['cw', { scoreSample: 1 }]]));
    const record = newRecord('r2', 'POST', '/v1/objectives/cw', 0);
    record.outcome = { objective: 'cw', target: { id: 'ranker@7' } } as Outcome;
    const deep = Buffer.from(`${'['.repeat(30_000)}0.5${']'.repeat(30_000)}`);
    stats.takeReply(record, deep);
    stats.takeReply(record, Buffer.from('[0.25, 0.75]'));
    await new Promise((r) => setImmediate(r));
    // The deep one was skipped; the plain one was scored.
    expect(stats.entries()[0]!.counters.scores.reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });
});
