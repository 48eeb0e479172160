import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

const canon = (text: string | Buffer, omit?: ReadonlySet<string>) =>
  canonicalJson(Buffer.isBuffer(text) ? text : Buffer.from(text), omit)?.text;

describe('canonical JSON (the response cache key)', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canon('{ "b": 1, "a": { "d": [1, {"z":0,"y":1}], "c": null } }')).toBe(
      '{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}',
    );
    expect(canon('{"a":1,"b":2}')).toBe(canon('\n{\t"b" : 2 ,"a":1}\r\n'));
  });

  it('writes strings one way, whatever their escapes', () => {
    expect(canon('{"k":"caf\\u00e9 \\/ \\"q\\""}')).toBe(canon('{"k":"café / \\"q\\""}'));
    expect(canon('["\\ud83d\\ude00"]')).toBe('["😀"]');
  });

  it('keeps numbers exactly as written: two seeds a double cannot tell apart stay apart', () => {
    expect(canon('{"seed":12345678901234567891}')).not.toBe(canon('{"seed":12345678901234567890}'));
    expect(canon('[1.0, 1, 1e2, -0]')).toBe('[1.0,1,1e2,-0]');
  });

  it('refuses what two parsers could read two ways, or not at all', () => {
    expect(canon('{"a":1,"a":2}')).toBeUndefined(); // first or last wins, depending on the parser
    expect(canon('{"x":{"a":1,"\\u0061":2}}')).toBeUndefined(); // the same key, escaped
    expect(canon('{"a":1} {"b":2}')).toBeUndefined();
    expect(canon('{"a":01}')).toBeUndefined();
    expect(canon('{"a":"\\x"}')).toBeUndefined();
    expect(canon('{"a":"raw\ttab"}')).toBeUndefined();
    expect(canon('{"a":')).toBeUndefined();
    expect(canon('')).toBeUndefined();
    expect(canon(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toBeUndefined(); // invalid UTF-8
    expect(canon(`${'['.repeat(200)}${']'.repeat(200)}`)).toBeUndefined();
  });

  it('leaves omitted top-level members out of the text, but reports every top-level member', () => {
    const c = canonicalJson(
      Buffer.from('{"user":"u-1","model":"m","temperature":0,"metadata":{"user":"x"},"input":{"user":"kept"}}'),
      new Set(['user', 'metadata']),
    )!;
    expect(c.text).toBe('{"input":{"user":"kept"},"model":"m","temperature":0}');
    expect(c.top.get('user')).toBe('"u-1"');
    expect(c.top.get('temperature')).toBe('0');
    expect(canonicalJson(Buffer.from('[1]'))!.top.size).toBe(0);
  });
});
