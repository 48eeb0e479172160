// Key changes as source edits: what each writes, what it refuses (in the
// body's terms), and how a client's key is traced to the API in history.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import type { JunctionError } from '../errors.js';
import { createClient, describeUpdate, issuedByApi, revokeClient, updateClient } from './key-changes.js';

const D1 = '1'.repeat(64);
const D2 = '2'.repeat(64);
const D3 = '3'.repeat(64);
const base = {
  models: { m: { versions: { '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } } } } },
  objectives: { cw: { default: 'm@1' }, 'search-a': { default: 'm@1' } },
  clients: { web: { keySha256: D1, objectives: ['cw'] } },
};

function refusal(fn: () => unknown): { code: string; paths: string[] } {
  try {
    fn();
  } catch (err) {
    const e = err as JunctionError;
    return { code: e.code, paths: (e.issues ?? []).map((i) => i.path) };
  }
  throw new Error('expected a refusal');
}

describe('createClient', () => {
  it('adds the client, digest first, and leaves the latest source untouched', () => {
    const latest = structuredClone(base);
    const e = createClient(latest, { name: 'search', objectives: ['search-*'], tags: { team: 's' } }, D2);
    expect(latest).toEqual(base);
    expect(Object.keys(e.source.clients as object)).toEqual(['web', 'search']);
    const written = (e.source.clients as Record<string, object>).search!;
    expect(Object.keys(written)[0]).toBe('keySha256');
    expect(written).toEqual({ keySha256: D2, objectives: ['search-*'], tags: { team: 's' } });
    expect(e.message).toBe('keys: create search');
    expect(e.warnings).toEqual([]);
    expect(validateConfig(e.source).clients.search!.priority).toBe('default');
  });

  it('warns about a glob that matches nothing yet, and about the first client', () => {
    const noClients = { ...base, clients: undefined };
    const e = createClient(noClients, { name: 'x', objectives: ['img-*', 'cw'] }, D2);
    expect(e.warnings).toEqual([
      'objectives[0]: "img-*" matches no objective of the config yet',
      expect.stringMatching(/^this is the first client: from this revision on every caller needs an API key/),
    ]);
  });

  it('refuses in the body terms', () => {
    expect(refusal(() => createClient(base, { name: 'web' }, D2))).toEqual({
      code: 'invalid_request',
      paths: ['name'],
    });
    expect(refusal(() => createClient(base, { name: 'a b', keySha256: D2, nope: 1 }, D2)).paths).toEqual([
      'keySha256',
      'nope',
      'name',
    ]);
    expect(refusal(() => createClient(base, { name: 'x', tags: { t: '' } }, D2)).paths).toEqual(['tags.t']);
    expect(refusal(() => createClient(base, { name: 'x', objectives: ['A'] }, D2)).paths).toEqual(['objectives[0]']);
    expect(refusal(() => createClient(base, 'x', D2)).paths).toEqual(['(root)']);
  });
});

describe('updateClient', () => {
  it('replaces given fields, removes null ones, and rotates only when asked', () => {
    const withTags = createClient(base, { name: 's', tags: { team: 'a' }, priority: 'critical' }, D2).source;
    const e = updateClient(withTags, 's', { tags: null, objectives: ['cw'] }, D3);
    expect((e.source.clients as Record<string, object>).s).toEqual({
      keySha256: D2,
      objectives: ['cw'],
      priority: 'critical',
    });
    expect(e.rotated).toBe(false);
    const r = updateClient(withTags, 's', { rotate: true }, D3);
    expect((r.source.clients as Record<string, { keySha256: string }>).s!.keySha256).toBe(D3);
    expect(r.rotated).toBe(true);
  });

  it('says what changed in the message', () => {
    expect(describeUpdate('s', { rotate: true })).toBe('keys: rotate s');
    expect(describeUpdate('s', { rotate: true, tags: {} })).toBe('keys: rotate s and update tags');
    expect(describeUpdate('s', { objectives: [], budgets: [] })).toBe('keys: update s: objectives, budgets');
    expect(describeUpdate('s', {})).toBe('keys: update s');
  });

  it('refuses unknown clients (404), renames and bad fields (400)', () => {
    expect(refusal(() => updateClient(base, 'nobody', {}, D2)).code).toBe('not_found');
    expect(refusal(() => updateClient(base, 'web', { name: 'other' }, D2)).paths).toEqual(['name']);
    expect(refusal(() => updateClient(base, 'web', { rateLimit: { burst: 2 } }, D2)).paths).toEqual([
      'rateLimit',
      'rateLimit',
    ]); // no rate given, and a burst without rps
  });
});

describe('revokeClient', () => {
  it('removes the client, but never the last one', () => {
    const two = createClient(base, { name: 's' }, D2).source;
    expect(Object.keys(revokeClient(two, 'web').source.clients as object)).toEqual(['s']);
    expect(refusal(() => revokeClient(base, 'web')).paths).toEqual(['name']);
    expect(refusal(() => revokeClient(base, 'nobody')).code).toBe('not_found');
  });
});

describe('issuedByApi', () => {
  const clients = validateConfig({
    ...base,
    clients: { web: { keySha256: D1 }, made: { keySha256: D2 }, rotatedBack: { keySha256: D3 } },
  }).clients;

  it('is the client whose digest a keys revision wrote, not one it replaced or one a config wrote', () => {
    const history = [
      { message: 'keys: rotate rotatedBack', diff: `~ clients.rotatedBack.keySha256: "${D3}" → "${'4'.repeat(64)}"` },
      { message: 'keys: create made', diff: `+ clients.made: {"keySha256":"${D2}","objectives":["*"]}` },
      { message: 'junction apply junction.yaml', diff: `+ clients.web: {"keySha256":"${D1}"}` },
    ];
    expect([...issuedByApi(clients, history)]).toEqual(['made']);
  });
});
