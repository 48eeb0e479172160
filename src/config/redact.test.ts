import { describe, expect, it } from 'vitest';
import { hasUserinfo, publicSource, redactUrl } from './redact.js';

describe('what a data-plane caller may see of a config', () => {
  it('endpoint URLs lose userinfo and query', () => {
    expect(redactUrl('http://user:pass@10.0.0.7:8000/v1?api_key=s3cret')).toBe('http://10.0.0.7:8000/v1');
    expect(redactUrl('http://10.0.0.7:8000')).toBe('http://10.0.0.7:8000');
    expect(redactUrl('not a url')).toBe('(redacted)');
    expect(hasUserinfo('http://user:pass@h/')).toBe(true);
    expect(hasUserinfo('http://h/?user=x')).toBe(false);
  });

  it('the source loses clients and auth, and is a copy', () => {
    const source = {
      models: { m: { versions: { '1': { backend: { type: 'http', endpoints: ['http://h:1/?key=k'], headers: { authorization: 'Bearer t' } } } } } },
      objectives: { a: { default: 'm@1' } },
      clients: { web: { keySha256: 'ab'.repeat(32) } },
      auth: { anonymous: false },
    };
    const shown = publicSource(source) as typeof source;
    expect(shown).toEqual({
      models: { m: { versions: { '1': { backend: { type: 'http', endpoints: ['http://h:1/'], headers: { authorization: '(redacted)' } } } } } },
      objectives: { a: { default: 'm@1' } },
    });
    expect(source.clients.web.keySha256).toBe('ab'.repeat(32)); // the original is untouched
  });
});
