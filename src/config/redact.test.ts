import { describe, expect, it } from 'vitest';
import { hasUserinfo, publicBackend, redactUrl } from './redact.js';

describe('what a data-plane caller may see of a config', () => {
  it('endpoint URLs lose userinfo and query', () => {
    expect(redactUrl('http://user:pass@10.0.0.7:8000/v1?api_key=s3cret')).toBe('http://10.0.0.7:8000/v1');
    expect(redactUrl('http://10.0.0.7:8000')).toBe('http://10.0.0.7:8000');
    expect(redactUrl('not a url')).toBe('(redacted)');
    expect(hasUserinfo('http://user:pass@h/')).toBe(true);
    expect(hasUserinfo('http://h/?user=x')).toBe(false);
  });

  it('a backend shown in the snapshot keeps no secret: header values, TLS files, URL and health-path queries', () => {
    const backend = {
      type: 'http',
      endpoints: ['http://h:1/base?key=k'],
      headers: { authorization: 'Bearer t' },
      tls: { ca: '/run/ca.pem', servername: 'h' },
      health: { path: '/ready?token=t', intervalMs: 5000, timeoutMs: 1000 },
    };
    expect(publicBackend(backend)).toEqual({
      type: 'http',
      endpoints: ['http://h:1/base?(redacted)'],
      headers: { authorization: '(redacted)' },
      tls: {},
      health: { path: '/ready', intervalMs: 5000, timeoutMs: 1000 },
    });
    expect(backend.headers.authorization).toBe('Bearer t'); // the config itself is untouched
  });
});
