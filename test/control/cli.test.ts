// The admin CLI commands, run in process through main() against a running
// Junction's admin API: output for people, --json for scripts, exit codes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'cli-token';
let a: Upstream;
let j: Junction;
let dir: string;

beforeAll(async () => {
  a = await startUpstream('a');
  dir = mkdtempSync(join(tmpdir(), 'junction-cli-'));
  j = await startJunction({
    config: twoTargets(a.url, a.url),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  vi.stubEnv('JUNCTION_ADMIN_TOKEN', TOKEN);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await j.close();
  await a.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

function run(...argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  return runAt(j.control!.adminUrl!, ...argv);
}

/** `junction …` in process against the admin API at `adminUrl`, with what it printed. */
async function runAt(
  adminUrl: string,
  ...argv: string[]
): Promise<{ code: number | undefined; out: string; err: string }> {
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
    const code = await main([...argv, '--admin', adminUrl]);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('admin CLI', () => {
  it('diff shows the change without applying it; apply makes it live', async () => {
    const next = file('next.json', twoTargets(a.url, a.url, 'm@2'));
    const diff = await run('diff', next);
    expect(diff).toMatchObject({
      code: 0,
      out: 'valid; against revision 1:\n  ~ objectives.cw.default: "m@1" → "m@2"\n',
    });
    expect(j.runtime.current!.number).toBe(1);
    const applied = await run('apply', next, '--message', 'go to 2');
    expect(applied.code).toBe(0);
    expect(applied.out).toMatch(/^applied: revision 2 is live \(1 change\)/);
    expect((await run('apply', next)).out).toBe('unchanged: revision 2 already has this config\n');
  });

  it('revisions lists newest first; --json for scripts', async () => {
    const human = await run('revisions');
    expect(human.out.split('\n')[0]).toMatch(/^\s+2 \(live\).*1 change\s+go to 2$/);
    expect((await run('revisions', '2')).out).toMatch(
      /^revision 2 \(live\) by .* go to 2\n {2}~ objectives\.cw\.default: "m@1" → "m@2"\n$/,
    );
    expect((await run('revisions', '9')).err).toMatch(/no revision 9/);
    const json = await run('revisions', '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      live: 2,
      revisions: [{ number: 2, message: 'go to 2' }, { number: 1 }],
    });
  });

  it('rollback N and the rollout verbs', async () => {
    expect((await run('rollback', '1')).out).toMatch(/^rolled back: revision 3 is live with revision 1's config/);
    const gates = ['--gates', 'maxErrorRate=0.01']; // a stepped rollout without a health gate is refused
    expect((await run('rollout', 'cw', 'start', '--candidate', 'm@2', '--steps', '5,50,100', ...gates)).out).toBe(
      'start: cw: m@2 at 5% (running, steps 5→50→100); default m@1 (revision 4)\n',
    );
    expect((await run('rollout', 'cw', 'pause')).out).toMatch(/at 5% \(paused/);
    expect((await run('rollout', 'cw', 'status')).out).toMatch(/^cw: m@2 at 5% \(paused/);
    expect((await run('rollout', 'cw', 'resume')).out).toMatch(/\(running/);
    expect((await run('rollout', 'cw', 'promote')).out).toBe('promote: cw: no rollout; default m@2 (revision 7)\n');
    const status = JSON.parse((await run('rollout', 'cw', 'status', '--json')).out);
    expect(status).toMatchObject({ objective: 'cw', default: 'm@2', rollout: null });
  });

  it('user errors exit 1 with one actionable line', async () => {
    const bad = await run('apply', file('bad.json', twoTargets(a.url, a.url, 'zz@1')));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/config refused[\s\S]*objectives\.cw\.default/);
    expect((await run('rollout', 'cw', 'abort')).err).toMatch(/no rollout; start one first/);
    expect((await run('rollback', 'x')).code).toBe(1);
    expect((await run('apply', join(dir, 'missing.yaml'))).err).toMatch(/cannot read .*missing\.yaml/);
  });

  it('a wrong argument names the fix; a rollback to the live config changes nothing', async () => {
    expect(await run('revisions', '--limit', 'x')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/--limit must be a whole number \(got "x"\)/),
    });
    expect(await run('revisions', '0')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/a revision is a positive number \(got "0"\)/),
    });
    expect(await run('apply')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/name the config file: junction apply FILE/),
    });
    expect(await run('rollout', 'cw')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/usage: junction rollout OBJECTIVE start\|/),
    });
    const live = j.runtime.current!.number;
    expect((await run('rollback', String(live))).out).toBe(
      `unchanged: the live revision ${live} already has revision ${live}'s config\n`,
    );
    expect(JSON.parse((await run('rollback', String(live), '--json')).out)).toMatchObject({
      revision: live,
      unchanged: true,
    });
    expect(j.runtime.current!.number).toBe(live);
  });

  it('revisions on a store with none yet says how to make the first', async () => {
    const empty = await startJunction({
      port: 0,
      control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
      log: { error() {}, warn() {}, info() {} },
    });
    try {
      expect(await runAt(empty.control!.adminUrl!, 'revisions')).toMatchObject({
        code: 0,
        out: 'no revisions yet: junction apply FILE creates the first\n',
      });
    } finally {
      await empty.close();
    }
  });

  it('a wrong token or an unreachable admin API says what to do', async () => {
    vi.stubEnv('JUNCTION_ADMIN_TOKEN', 'wrong');
    const refused = await run('revisions');
    vi.stubEnv('JUNCTION_ADMIN_TOKEN', TOKEN);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.err).toMatch(/refused the token: set JUNCTION_ADMIN_TOKEN/);
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    const code = await main(['revisions', '--admin', 'http://127.0.0.1:1']);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(err).toMatch(/cannot reach the admin API at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\): start Junction/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});
