// `junction keys new`: a key once, its digest, and a config line that validates.
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../../test/support/output.js';
import { parse } from 'yaml';
import { validateConfig } from '../config/load.js';
import { keyDigest } from '../tenancy/keys.js';
import { main } from './main.js';

const io = captureOutput();

describe('junction keys new', () => {
  it('prints a key and its SHA-256 digest, and a clients: entry that validates', async () => {
    expect(await main(['keys', 'new', '--name', 'web'])).toBe(0);
    const key = /^key: +(\S+)$/m.exec(io.out)![1]!;
    const digest = /^keySha256: +(\S+)$/m.exec(io.out)![1]!;
    expect(digest).toBe(keyDigest(key));
    const snippet = io.out.slice(io.out.indexOf('clients:'));
    const config = validateConfig(parse(snippet));
    expect(config.clients.web!.keySha256).toBe(digest);
  });

  it('exits 1 with usage on anything else', async () => {
    expect(await main(['keys'])).toBe(1);
    expect(io.err).toContain('junction keys new');
  });
});
