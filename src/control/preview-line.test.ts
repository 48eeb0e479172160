// The preview's in-place line reader gives what JSON.parse gives, for lines
// the decision log itself wrote, and steps aside for any other line.
import { describe, expect, it } from 'vitest';
import { LineReader } from './preview-line.js';

const FIELDS = ['via', 'objective', 'unit', 'context', 'trafficClass', 'rule', 'target', 'requestId'] as const;

function written(o: Record<string, unknown>): string {
  // The writer's field order (observe/decision-log.ts DecisionLines), its output for these values.
  return JSON.stringify({
    time: '2026-12-03T10:00:00.000Z',
    requestId: 'r-1',
    via: 'invoke',
    objective: 'cw',
    unit: 'user-1',
    context: { country: 'BR' },
    rule: 'experiment:cw-42',
    experiment: 'cw-42',
    cell: 'B',
    target: 'm@2',
    balance: null,
    revision: 3,
    client: 'web',
    trafficClass: 'live',
    status: 200,
    ...o,
  });
}

function pick(o: Record<string, unknown>) {
  return Object.fromEntries(FIELDS.map((k) => [k, o[k]]));
}

describe('decision line reader', () => {
  it('reads the fields the replay needs as JSON.parse does', () => {
    const reader = new LineReader();
    for (const line of [
      written({}),
      written({ unit: null, context: {} }),
      written({ context: { country: 'BR', device: 'tv' }, trafficClass: 'test', rule: 'override' }),
      written({ client: null, experiment: null, cell: null }),
      written({ context: { 'x"y': 'a\\b' } }), // the context is JSON.parse'd: escapes in it are read right
    ]) {
      const got = reader.read(line);
      expect(got, line).toBeDefined();
      expect(pick({ ...got })).toEqual(pick(JSON.parse(line) as Record<string, unknown>));
    }
  });

  it('steps aside for escapes, other shapes and cut lines, leaving them to JSON.parse', () => {
    const reader = new LineReader();
    expect(reader.read(written({ unit: 'a"b' }))).toBeUndefined();
    expect(reader.read(JSON.stringify({ objective: 'cw', time: 'x' }))).toBeUndefined();
    expect(reader.read(written({}).slice(0, -20))).toBeUndefined();
    expect(reader.read(written({}).replace('"context":{"country":"BR"}', '"context":{"country":"BR"'))).toBeUndefined();
  });
});
