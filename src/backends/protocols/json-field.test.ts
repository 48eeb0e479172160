import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JunctionError } from '../../errors.js';
import { stringValue, topLevelFields, withTopLevelString, type ValueSpan } from './json-field.js';

const FIELDS = ['model', 'stream'];

/** What the scanner sees of `fields` in `text`, each value read back with JSON.parse; or the refusal's message. */
function scan(text: string | Buffer, fields = FIELDS): Array<unknown> | string {
  const raw = Buffer.isBuffer(text) ? text : Buffer.from(text);
  try {
    return topLevelFields(raw, fields).map((s) =>
      s === undefined ? undefined : (JSON.parse(raw.toString('utf8', s.start, s.end)) as unknown),
    );
  } catch (err) {
    expect(err).toBeInstanceOf(JunctionError);
    expect((err as JunctionError).code).toBe('invalid_request');
    return (err as Error).message;
  }
}

const rewrite = (s: string, v = 'served') => {
  const raw = Buffer.from(s);
  return withTopLevelString(raw, topLevelFields(raw, ['model'])[0], 'model', v).toString();
};

describe('topLevelFields', () => {
  it('finds the top-level value of each field, whatever its type, and nothing nested', () => {
    expect(scan('{"model":"a","stream":true}')).toEqual(['a', true]);
    expect(scan(' { "x": {"model": "inner"}, "model" : "a" ,"stream":{"s":[1,{}]}}\n')).toEqual(['a', { s: [1, {}] }]);
    expect(scan('{"messages":[{"model":"m","content":"\\"model\\": \\"no\\""}]}')).toEqual([undefined, undefined]);
    expect(scan('{"xmodel":"a","models":"c","a":"model"}')).toEqual([undefined, undefined]);
    expect(scan('{}')).toEqual([undefined, undefined]);
  });

  it('compares keys after unescaping: an escaped key is the field', () => {
    expect(scan('{"mod\\u0065l":"objective"}')).toEqual(['objective', undefined]);
    expect(scan('{"\\u006D\\u006f\\u0064\\u0065\\u006c":"o"}')).toEqual(['o', undefined]);
    expect(scan('{"str\\u0065am":false}')).toEqual([undefined, false]);
    // Surrogate pairs and short escapes unescape too; they never spell a wanted field.
    expect(scan('{"\\ud83d\\ude00":1,"a\\/b\\n":2,"model":"m"}')).toEqual(['m', undefined]);
  });

  it('refuses a wanted field written twice, escaped or not, naming it', () => {
    for (const body of [
      '{"model":"a","model":"b"}',
      '{"model":"objective","mod\\u0065l":"other"}',
      '{"mod\\u0065l":"other","model":"objective"}',
      '{"model":"a","x":{"y":1},"model":null}',
      '{"stream":false,"model":"a","\\u0073tream":true}',
    ]) {
      expect(scan(body)).toMatch(/^"(model|stream)" appears twice/);
    }
    // Fields nobody reads may repeat: the backend sees what the caller sent.
    expect(scan('{"temperature":1,"temperature":2,"model":"a"}')).toEqual(['a', undefined]);
    // Nested repeats are not top-level fields.
    expect(scan('{"model":"a","x":{"model":1,"model":2}}')).toEqual(['a', undefined]);
  });

  it('refuses a key that is a wanted field only after case folding (Go matches it) or cut at NUL', () => {
    expect(scan('{"MODEL":"a"}')).toMatch(/^top-level key "MODEL" is not "model", but some servers read it as "model"/);
    expect(scan('{"model":"a","Model":"b"}')).toMatch(/"Model" is not "model"/);
    expect(scan('{"mod\\u0045l":"a"}')).toMatch(/"modEl" is not "model"/);
    expect(scan('{"\\u017ftream":true}')).toMatch(/is not "stream"/); // ſ folds to s
    // A C-string parser stops at NUL.
    expect(scan('{"model":"a","model\\u0000x":"b"}')).toMatch(/"model\\u0000x" is not "model"/);
    expect(scan('{"mod\\u0000el":"b"}')).toEqual([undefined, undefined]);
    expect(scan('{"models":"a","MODELS":"b"}')).toEqual([undefined, undefined]);
  });

  it('refuses what JSON.parse refuses, and anything but an object', () => {
    for (const body of [
      '',
      '{',
      '{"model": ',
      '{"model":"a",}',
      '{"model":"a"} x',
      '{"model":"a"}{}',
      "{'model':'a'}",
      '{model:"a"}',
      '{"model":"a" /* c */}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":+1}',
      '{"a":NaN}',
      '{"a":tru}',
      '{"a":"\t"}',
      '{"a":"\\x41"}',
      '{"a":"\\u12"}',
      '{"a":[1,]}',
      '{"a":[1 2]}',
      '{"a":{"b"}}',
      '{"a":{"b":1]}',
      '\ufeff{}',
    ]) {
      expect(() => JSON.parse(body) as unknown).toThrow();
      expect(scan(body)).toMatch(/^request body is not valid JSON|^request body must be a JSON object/);
    }
    expect(scan('[{"model":"a"}]')).toBe('request body must be a JSON object');
    expect(scan('"model"')).toBe('request body must be a JSON object');
  });

  it('refuses a top-level key that is not UTF-8 (an overlong "m" is not "m")', () => {
    const overlong = Buffer.concat([Buffer.from('{"'), Buffer.from([0xc1, 0xad]), Buffer.from('odel":"a"}')]);
    expect(scan(overlong)).toMatch(/top-level key is not UTF-8/);
  });

  it('takes deep nesting in one pass', () => {
    const deep = `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)},"model":"a"}`;
    expect(scan(deep)).toEqual(['a', undefined]);
    expect(scan(`{"x":${'['.repeat(100_000)}${']'.repeat(99_999)}}`)).toMatch(/not valid JSON/);
    expect(scan(`{"x":${'[{"a":'.repeat(40)}1${'}]'.repeat(39)}]}}`)).toMatch(/not valid JSON/);
  });

  it('stringValue reads only strings', () => {
    const raw = Buffer.from('{"model":"a\\u00e9","stream":true}');
    const [model, stream] = topLevelFields(raw, FIELDS);
    expect(stringValue(raw, model)).toBe('aé');
    expect(stringValue(raw, stream)).toBeUndefined();
    expect(stringValue(raw, undefined)).toBeUndefined();
  });
});

describe('withTopLevelString', () => {
  it('replaces only the top-level value, keeping every other byte', () => {
    expect(rewrite('{"model":"a","n":1.50}')).toBe('{"model":"served","n":1.50}');
    expect(rewrite('{ "x": {"model": "inner"}, "model" : "a" }')).toBe(
      '{ "x": {"model": "inner"}, "model" : "served" }',
    );
    expect(rewrite('{"messages":[{"model":"m","content":"\\"model\\": \\"no\\""}],"model":"a"}')).toBe(
      '{"messages":[{"model":"m","content":"\\"model\\": \\"no\\""}],"model":"served"}',
    );
    expect(rewrite('{"xmodel":"a","model":"b","models":"c"}')).toBe('{"xmodel":"a","model":"served","models":"c"}');
  });

  it('replaces the value of an escaped key, which stays the one model key', () => {
    expect(rewrite('{"mod\\u0065l":"objective","seed":12345678901234567890}')).toBe(
      '{"mod\\u0065l":"served","seed":12345678901234567890}',
    );
  });

  it('replaces a value of any type, and adds the field first when absent', () => {
    expect(rewrite('{"model":null}')).toBe('{"model":"served"}');
    expect(rewrite('{"model":{"a":[1]},"b":2}')).toBe('{"model":"served","b":2}');
    expect(rewrite('{"prompt":"a"}')).toBe('{"model":"served","prompt":"a"}');
    expect(rewrite(' { } ')).toBe(' {"model":"served" } ');
  });

  it('escapes the new value and returns the same buffer when it is already set', () => {
    expect(rewrite('{"model":"a"}', 'we"ird')).toBe('{"model":"we\\"ird"}');
    const raw = Buffer.from('{"model":"served"}');
    expect(withTopLevelString(raw, topLevelFields(raw, ['model'])[0], 'model', 'served')).toBe(raw);
  });
});

// ---- properties: the scanner's view is JSON.parse's, or a refusal exactly when they could differ ----

/** A key as the caller may write it: each code point literal or escaped (\uXXXX, surrogate pairs as two, short forms). */
function writeKey(key: string, escapes: readonly number[]): string {
  let out = '"';
  let n = 0;
  for (const ch of key) {
    const mode = escapes[n++ % escapes.length]!;
    const cp = ch.codePointAt(0)!;
    const short: Record<string, string> = {
      '"': '\\"',
      '\\': '\\\\',
      '/': '\\/',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
    };
    const mustEscape = cp < 0x20 || ch === '"' || ch === '\\';
    if (mode === 0 && !mustEscape) out += ch;
    else if (mode === 1 && short[ch] !== undefined) out += short[ch];
    else {
      for (let k = 0; k < ch.length; k++) {
        const hex = ch.charCodeAt(k).toString(16).padStart(4, '0');
        out += `\\u${mode === 2 ? hex.toUpperCase() : hex}`;
      }
    }
  }
  return `${out}"`;
}

const keyArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'model',
      'stream',
      'Model',
      'STREAM',
      'modeL',
      'ſtream',
      'models',
      'mode',
      '',
      'model\u0000',
      'mo\u0000',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii' }) },
);
const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
const memberArb = fc.record({
  key: keyArb,
  escapes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }),
  value: fc.jsonValue({ maxDepth: 3 }),
  indent: fc.boolean(),
  before: space,
  after: space,
});

function folded(s: string): string {
  return s.replace(/\u017f/g, 's').toLowerCase();
}

describe('topLevelFields agrees with JSON.parse', () => {
  it('on random objects with random escapes: the same value of each field, or a refusal when it is repeated or case-folded', () => {
    fc.assert(
      fc.property(fc.array(memberArb, { maxLength: 8 }), (members) => {
        const text = `{${members
          .map(
            (m) =>
              `${m.before}${writeKey(m.key, m.escapes)}${m.after}:${m.after}${JSON.stringify(m.value, null, m.indent ? 2 : 0)}${m.before}`,
          )
          .join(',')}}`;
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const keys = members.map((m) => m.key);
        const ambiguous = FIELDS.some(
          (f) =>
            keys.filter((k) => k === f).length > 1 ||
            keys.some((k) => k !== f && (folded(k) === f || folded(k.split('\u0000')[0]!) === f)),
        );
        const seen = scan(text);
        if (ambiguous) {
          expect(seen).toMatch(/appears twice|some servers read it as/);
        } else {
          expect(seen).toEqual(FIELDS.map((f) => (Object.hasOwn(parsed, f) ? parsed[f] : undefined)));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('on mangled JSON: refuses exactly what JSON.parse refuses (or what is not an object)', () => {
    const mangled = fc
      .tuple(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        fc.nat(),
        fc.constantFrom('', '"', '\\', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', 'n', ' ', '\u0001', 'x'),
        fc.boolean(),
      )
      .map(([obj, at, ch, replace]) => {
        const s = JSON.stringify(obj);
        const i = at % (s.length + 1);
        return s.slice(0, i) + ch + s.slice(replace ? i + 1 : i);
      });
    fc.assert(
      fc.property(mangled, (text) => {
        let ok: boolean;
        try {
          const v: unknown = JSON.parse(text);
          ok = typeof v === 'object' && v !== null && !Array.isArray(v);
        } catch {
          ok = false;
        }
        expect(typeof scan(text, [])).toBe(ok ? 'object' : 'string');
      }),
      { numRuns: 1500 },
    );
  });

  it('a rewrite leaves exactly one field, set, and every other field as JSON.parse read it', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        fc.option(fc.jsonValue({ maxDepth: 2 })),
        fc.boolean(),
        (obj, model, indent) => {
          const withModel = model === null ? obj : { ...obj, model };
          const raw = Buffer.from(JSON.stringify(withModel, null, indent ? 2 : 0));
          const span: ValueSpan | undefined = topLevelFields(raw, ['model'])[0];
          const out = withTopLevelString(raw, span, 'model', 'served');
          expect(JSON.parse(out.toString())).toEqual({ ...(JSON.parse(raw.toString()) as object), model: 'served' });
          expect(stringValue(out, topLevelFields(out, ['model'])[0])).toBe('served');
        },
      ),
    );
  });
});
