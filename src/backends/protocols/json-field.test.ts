import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replaceTopLevelString, topLevelStringSpans } from './json-field.js';

const rewrite = (s: string, v = 'served') => replaceTopLevelString(Buffer.from(s), 'model', v)?.toString();

describe('replaceTopLevelString', () => {
  it('replaces only the top-level field, keeping every other byte', () => {
    expect(rewrite('{"model":"a","n":1.50}')).toBe('{"model":"served","n":1.50}');
    expect(rewrite('{ "x": {"model": "inner"}, "model" : "a" }')).toBe(
      '{ "x": {"model": "inner"}, "model" : "served" }',
    );
    expect(rewrite('{"messages":[{"model":"m","content":"\\"model\\": \\"no\\""}],"model":"a"}')).toBe(
      '{"messages":[{"model":"m","content":"\\"model\\": \\"no\\""}],"model":"served"}',
    );
  });

  it('leaves keys that only look like "model" alone', () => {
    expect(rewrite('{"xmodel":"a","model":"b","models":"c"}')).toBe('{"xmodel":"a","model":"served","models":"c"}');
    expect(rewrite('{"a":"model","model":"b"}')).toBe('{"a":"model","model":"served"}');
  });

  it('escapes the new value', () => {
    expect(rewrite('{"model":"a"}', 'we"ird')).toBe('{"model":"we\\"ird"}');
  });

  it('gives up (undefined) on repeated, missing or non-string model fields', () => {
    expect(rewrite('{"model":"a","model":"b"}')).toBeUndefined();
    expect(rewrite('{"prompt":"a"}')).toBeUndefined();
    expect(rewrite('{"model":null}')).toBeUndefined();
  });

  it('agrees with JSON.parse on any object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), fc.boolean(), (obj, model, indent) => {
        const raw = Buffer.from(JSON.stringify({ ...obj, model }, null, indent ? 2 : 0));
        const expected = JSON.parse(raw.toString()) as Record<string, unknown>;
        expected.model = 'served';
        const out = replaceTopLevelString(raw, 'model', 'served');
        expect(out).toBeDefined();
        expect(JSON.parse(out!.toString())).toEqual(expected);
        expect(topLevelStringSpans(raw, 'model')).toHaveLength(1);
      }),
    );
  });
});
