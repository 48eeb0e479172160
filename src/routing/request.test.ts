import { describe, expect, it } from 'vitest';
import type { JunctionError } from '../errors.js';
import { NO_CONTEXT, routingRequest, type FieldNames } from './request.js';

const NAMES: FieldNames = { trafficClass: 'x-traffic-class', override: 'x-model-override', overrideSource: 'header' };

describe('routingRequest: one builder for headers, decide items, explain queries and the CLI', () => {
  it('a unit is sticky; none (or an empty one) draws a random unit', () => {
    const sticky = routingRequest('user-1', NO_CONTEXT, undefined, undefined, NAMES);
    expect(sticky).toMatchObject({ unit: 'user-1', randomUnit: undefined, trafficClass: 'live', mayOverride: false });
    for (const none of [undefined, '']) {
      const r = routingRequest(none, NO_CONTEXT, undefined, undefined, NAMES);
      expect(r.unit).toBeUndefined();
      expect(r.randomUnit).toMatch(/^[0-9a-z]+$/);
    }
  });

  it('keeps the context it is given and the override with where it came from', () => {
    const r = routingRequest('u', { country: 'BR' }, 'test', 'ranker@7', { ...NAMES, overrideSource: 'query' });
    expect(r).toMatchObject({
      context: { country: 'BR' },
      trafficClass: 'test',
      override: 'ranker@7',
      overrideSource: 'query',
    });
    expect(routingRequest('u', NO_CONTEXT, undefined, undefined, NAMES).overrideSource).toBeUndefined();
  });

  it('refuses a bad traffic class or override as invalid_request, naming the field as the source spells it', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err as JunctionError;
      }
      throw new Error('accepted');
    };
    const tc = bad(() =>
      routingRequest('u', NO_CONTEXT, 'prod', undefined, { ...NAMES, trafficClass: 'requests[2].trafficClass' }),
    );
    expect(tc.code).toBe('invalid_request');
    expect(tc.message).toMatch(/^requests\[2\]\.trafficClass must be live, test or synthetic/);
    const ov = bad(() => routingRequest('u', NO_CONTEXT, undefined, 'ranker', NAMES, 'cw'));
    expect(ov.code).toBe('invalid_request');
    expect(ov.message).toMatch(/^x-model-override must be "model@version"/);
    expect(bad(() => routingRequest('u', NO_CONTEXT, 7, undefined, NAMES)).code).toBe('invalid_request');
  });
});
