import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { globMatcher } from './globs.js';
import { bearerKey, keyDigest, newKey } from './keys.js';

describe('API keys', () => {
  it('new keys are distinct, URL-safe and 256-bit', () => {
    const a = newKey();
    expect(a).toMatch(/^jk_[A-Za-z0-9_-]{43}$/);
    expect(newKey()).not.toBe(a);
  });

  it('the digest is the hex SHA-256 of the key, as written in clients:', () => {
    expect(keyDigest('k')).toBe(createHash('sha256').update('k').digest('hex'));
  });

  it('reads only well-formed bearer tokens', () => {
    expect(bearerKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(bearerKey({ authorization: 'bearer abc' })).toBe('abc');
    expect(bearerKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(bearerKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(bearerKey({})).toBeUndefined();
    expect(bearerKey({ authorization: `Bearer ${'x'.repeat(1000)}` })).toBeUndefined();
  });
});

describe('objective globs', () => {
  it('"*" matches everything, a prefix glob its family, a name itself', () => {
    expect(globMatcher(['*'])('anything')).toBe(true);
    const m = globMatcher(['search-*', 'image-labels']);
    expect(m('search-ranking')).toBe(true);
    expect(m('image-labels')).toBe(true);
    expect(m('image-labels-2')).toBe(false);
    expect(m('chat')).toBe(false);
    expect(globMatcher([])('x')).toBe(false);
  });

  it('regex characters in names are literal', () => {
    expect(globMatcher(['a.b'])('axb')).toBe(false);
  });
});
