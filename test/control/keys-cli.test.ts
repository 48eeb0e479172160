// `junction keys create|list|show|update|rotate|revoke` end to end against a
// real Junction's admin API, checked on its data plane: in process through
// main() (output and exit codes), and once as a separate process from source.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { stringify } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'keys-cli-token';
const FILE_KEY = newKey();
const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
let up: Upstream;
let j: Junction;
let dir: string;

const fileConfig = () => ({
  ...twoTargets(up.url, up.url),
  clients: { web: { keySha256: keyDigest(FILE_KEY), objectives: ['cw'] } },
});

beforeAll(async () => {
  up = await startUpstream('up');
  dir = mkdtempSync(join(tmpdir(), 'junction-keys-cli-'));
  j = await startJunction({
    config: fileConfig(),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  vi.stubEnv('JUNCTION_ADMIN_TOKEN', TOKEN);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await j.close();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await main([...argv, '--admin', j.control!.adminUrl!]);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

async function call(key: string): Promise<number> {
  const res = await request(`${j.url}/v1/objectives/cw`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: '{}',
  });
  await res.body.text();
  return res.statusCode;
}

describe('junction keys', () => {
  it('create --json → the key works; update narrows it; rotate swaps it; revoke ends it', async () => {
    const made = await run(
      'keys',
      'create',
      'search-team',
      '--objectives',
      'cw,search-*',
      '--rps',
      '50',
      '--tpm',
      '400000',
      '--tag',
      'team=search',
      '--tag',
      'cost-center=42',
      '--json',
    );
    expect(made.code).toBe(0);
    const created = JSON.parse(made.out) as { key: string; keySha256: string; revision: number; settings: object };
    expect(created.keySha256).toBe(keyDigest(created.key));
    expect(created.settings).toMatchObject({
      objectives: ['cw', 'search-*'],
      rateLimit: { rps: 50, tpm: 400000 },
      tags: { team: 'search', 'cost-center': '42' },
      issuedBy: 'api',
    });
    expect(made.err).toBe('warning: objectives[1]: "search-*" matches no objective of the config yet\n');
    expect(await call(created.key)).toBe(200);

    const updated = await run('keys', 'update', 'search-team', '--objectives', 'search-*');
    expect(updated.code).toBe(0);
    expect(updated.out).toMatch(/^updated client search-team \(revision \d+\)\n {2}objectives: search-\*\n/);
    expect(updated.out).toContain('limits:     rps 50 tpm 400000');
    expect(await call(created.key)).toBe(403);
    expect((await run('keys', 'update', 'search-team', '--objectives', 'cw')).code).toBe(0);
    expect(await call(created.key)).toBe(200);

    const rotated = await run('keys', 'rotate', 'search-team');
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/^rotated client search-team: its old key no longer works \(revision \d+\)\nkey: +jk_/);
    const next = /^key: +(\S+)$/m.exec(rotated.out)![1]!;
    expect(/^keySha256: +(\S+)$/m.exec(rotated.out)![1]).toBe(keyDigest(next));
    expect(await call(created.key)).toBe(401);
    expect(await call(next)).toBe(200);

    const revoked = await run('keys', 'revoke', 'search-team');
    expect(revoked.code).toBe(0);
    expect(revoked.out).toMatch(/^revoked client search-team \(revision \d+\): its key no longer works\n$/);
    expect(await call(next)).toBe(401);
  });

  it('create prints the key once for people; list and show print settings, never a whole digest', async () => {
    const made = await run('keys', 'create', 'batch', '--objectives', 'cw', '--max-concurrency', '4');
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/^created client batch \(revision \d+\)\nkey: +jk_\S+\nkeySha256: +[0-9a-f]{64}\n# Give/);
    const key = /^key: +(\S+)$/m.exec(made.out)![1]!;
    expect(await call(key)).toBe(200);

    const list = await run('keys', 'list');
    expect(list.code).toBe(0);
    const lines = list.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +ISSUED +KEY SHA256 +OBJECTIVES +LIMITS +PRIORITY +TAGS$/);
    expect(lines.find((l) => l.startsWith('batch '))).toMatch(
      new RegExp(`^batch +api +${keyDigest(key).slice(0, 12)}… +cw +concurrency 4 +default +-$`),
    );
    expect(lines.find((l) => l.startsWith('web '))).toMatch(/^web +config +[0-9a-f]{12}… +cw +- +default +-$/);
    expect(list.out).not.toContain(keyDigest(key));
    expect(list.out).not.toContain(key);

    const listed = JSON.parse((await run('keys', 'list', '--json')).out) as { clients: Array<{ name: string }> };
    expect(listed.clients.map((c) => c.name)).toEqual(['batch', 'web']);
    const shown = await run('keys', 'show', 'batch');
    expect(shown.out).toContain('key:        sha256 ');
    expect(shown.out).toContain('(issued by the admin API)');
  });

  it('a user error exits 1 with one line saying what to fix, and stores nothing', async () => {
    const before = j.runtime.current!.number;
    const cases: Array<[string[], RegExp]> = [
      [['keys', 'create', 'bad name'], /^name: client names are/m],
      [['keys', 'create', 'web'], /^name: client "web" exists; change it with PATCH/m],
      [['keys', 'create', 'x', '--tag', 'k=' + 'v'.repeat(129)], /^tags\.k: /m],
      [['keys', 'create', 'x', '--tpm', 'lots'], /--tpm must be a positive number \(got "lots"\)/],
      [['keys', 'create', 'x', '--tag', 'team'], /--tag is KEY=VALUE/],
      [['keys', 'create', 'x', '--priority', 'urgent'], /^priority: /m],
      [['keys', 'create'], /name the client: junction keys create NAME/],
      [['keys', 'rotate', 'nobody'], /no client "nobody" in the latest revision/],
      [['keys', 'revoke', 'nobody'], /no client "nobody"/],
      [['keys', 'frobnicate'], /usage: junction keys new/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
    vi.stubEnv('JUNCTION_ADMIN_TOKEN', 'wrong');
    try {
      const r = await run('keys', 'list');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/refused the token/);
    } finally {
      vi.stubEnv('JUNCTION_ADMIN_TOKEN', TOKEN);
    }
    expect(j.runtime.current!.number).toBe(before);
  });

  it('junction diff and apply warn when a file drops clients issued through the API', async () => {
    const made = JSON.parse((await run('keys', 'create', 'api-only', '--objectives', 'cw', '--json')).out) as {
      key: string;
    };
    expect(await call(made.key)).toBe(200);
    const file = join(dir, 'junction.yaml');
    writeFileSync(file, stringify(fileConfig()));
    const diff = await run('diff', file);
    expect(diff.code).toBe(0);
    expect(diff.out).toContain('- clients.api-only');
    expect(diff.err).toMatch(
      /^warning: applying this file revokes clients [a-z, -]*api-only[a-z, -]*: their keys would/,
    );
    expect(await call(made.key)).toBe(200); // a dry run

    const applied = await run('apply', file);
    expect(applied.code).toBe(0);
    const revision = j.runtime.current!.number;
    expect(applied.err).toContain('this apply revoked clients');
    expect(applied.err).toContain(`or undo with "junction rollback ${revision - 1}"`);
    expect(await call(made.key)).toBe(401);
    expect(await call(FILE_KEY)).toBe(200);
    expect((await run('rollback', String(revision - 1))).code).toBe(0);
    expect(await call(made.key)).toBe(200);
  });

  it('as a separate process: keys create and list against the running Junction', async () => {
    const cli = (...argv: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', CLI, 'keys', ...argv, '--admin', j.control!.adminUrl!],
          { env: { ...process.env, JUNCTION_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const made = await cli('create', 'spawned', '--objectives', 'cw', '--json');
    expect(made.code, made.err).toBe(0);
    const { key } = JSON.parse(made.out) as { key: string };
    expect(await call(key)).toBe(200);
    const [list, bad] = await Promise.all([cli('list'), cli('revoke', 'nobody')]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^spawned +api /m);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/no client "nobody"/);
  }, 60_000);
});
