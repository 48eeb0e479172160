// `junction keys new`: a key once, its digest, and a config line that validates.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../config/load.js';
import { keyDigest } from '../tenancy/keys.js';
import { main } from './main.js';

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
});
afterEach(() => vi.restoreAllMocks());

describe('junction keys new', () => {
  it('prints a key and its SHA-256 digest, and a clients: entry that validates', async () => {
    expect(await main(['keys', 'new', '--name', 'web'])).toBe(0);
    const key = /^key: +(\S+)$/m.exec(out)![1]!;
    const digest = /^keySha256: +(\S+)$/m.exec(out)![1]!;
    expect(digest).toBe(keyDigest(key));
    const snippet = out.slice(out.indexOf('clients:'));
    const config = validateConfig(parse(snippet));
    expect(config.clients.web!.keySha256).toBe(digest);
  });

  it('exits 1 with usage on anything else', async () => {
    expect(await main(['keys'])).toBe(1);
    expect(err).toContain('junction keys new');
  });
});
