// Rollouts that cannot fool anyone (issue 27, item 2): starting one that
// reaches no live unit, or a stepped one without a gate on the candidate's
// errors, is refused with the reasons and how to force it; forced, the reason
// is recorded in the revision; the console's /admin/objectives flags both.
// A real Junction and its admin API, the CLI run in process through main().
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

let up: Upstream;
let j: Junction;

const cells = (a: string, b: string) => ({ A: { weight: 50, use: a }, B: { weight: 50, use: b } });

beforeAll(async () => {
  up = await startUpstream('up');
  const backend = { type: 'http', endpoints: [up.url] };
  j = await startJunction({
    config: {
      models: { m: { class: 'scorer', versions: { '1': { backend }, '2': { backend }, '3': { backend } } } },
      objectives: {
        // The objective: an experiment over every unit, so a rollout after it reaches nobody.
        assistant: { default: 'm@1', experiments: [{ id: 'all-in', population: 1, cells: cells('m@1', 'm@3') }] },
        half: { default: 'm@1', experiments: [{ id: 'half-in', population: 0.5, cells: cells('m@1', 'm@3') }] },
        everyone: { default: 'm@1', rules: [{ id: 'pinned', when: { trafficClass: 'live' }, use: 'm@3' }] },
        brazil: { default: 'm@1', rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@3' }] },
        plain: { default: 'm@1' },
      },
    },
    port: 0,
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => {
  await j.close();
  await up.close();
});
afterEach(() => vi.restoreAllMocks());

/** `junction …` in process against the Junction's admin API, with what it printed. */
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
    return { code: await main([...argv, '--admin', j.control!.adminUrl!]), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

async function admin(method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${j.control!.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}

const rolloutOf = (objective: string) => j.runtime.current!.config.objectives[objective]!.rollout;
const warningsOf = async (objective: string) =>
  (await admin('GET', '/admin/objectives')).json.objectives
    .find((o: { name: string }) => o.name === objective)
    .rollout?.warnings.map((w: { code: string }) => w.code);

describe('starting a rollout that cannot fool anyone', () => {
  it("the issue's start is refused, saying why and how to force it, and nothing is stored", async () => {
    const before = j.runtime.current!.number;
    const r = await run('rollout', 'assistant', 'start', '--candidate', 'm@2', '--steps', '5,25,50,100');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /no live unit reaches the rollout: experiment all-in \(100% of units\) takes every live request/,
    );
    expect(r.err).toMatch(/no health gate: the controller would walk 5→25→50→100%/);
    expect(r.err).toMatch(/junction rollout assistant start --force "reason"/);
    expect(j.runtime.current!.number).toBe(before);
    expect(rolloutOf('assistant')).toBeUndefined();

    const api = await admin('POST', '/admin/objectives/assistant/rollout/start', { candidate: 'm@2', steps: [5, 100] });
    expect(api.status).toBe(409);
    expect(api.json.error).toMatchObject({ code: 'rollout_refused', objective: 'assistant' });
    // A gate does not make a rollout that reaches nobody worth starting.
    const gated = await admin('POST', '/admin/objectives/assistant/rollout/start', {
      candidate: 'm@2',
      steps: [5, 100],
      gates: { maxErrorRate: 0.01 },
    });
    expect(gated.json.error.code).toBe('rollout_refused');
    expect(gated.json.error.message).not.toMatch(/health gate/);
    // Nor a rule that takes every live request.
    const ruled = await admin('POST', '/admin/objectives/everyone/rollout/start', {
      candidate: 'm@2',
      steps: [5, 100],
      gates: { maxErrorRate: 0.01 },
    });
    expect(ruled.json.error.message).toMatch(/rule pinned takes every live request/);
  });

  it('forced with a reason, it starts; the revision records the reason and the console flags both', async () => {
    const r = await run(
      'rollout',
      'assistant',
      'start',
      '--candidate',
      'm@2',
      '--steps',
      '5,100',
      '--force',
      'dark launch: the experiment ends tonight',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^start: assistant: m@2 at 5% \(running, steps 5→100\)/);
    expect(r.out).toMatch(/\n {2}warning \(reaches_no_units\): no live unit reaches the rollout/);
    expect(r.out).toMatch(/\n {2}warning \(no_gate\): no health gate/);
    expect(r.out).toMatch(/\n {2}forced: dark launch: the experiment ends tonight\n$/);
    const live = j.runtime.current!.number;
    const rev = (await admin('GET', `/admin/revisions/${live}`)).json;
    expect(rev.notes).toEqual({ forced: 'dark launch: the experiment ends tonight' });
    expect(rev.message).toBe('rollout start on assistant (forced: dark launch: the experiment ends tonight)');
    expect(await warningsOf('assistant')).toEqual(['reaches_no_units', 'no_gate']);
    // `rollout status` shows them too.
    expect((await run('rollout', 'assistant', 'status')).out).toMatch(/warning \(reaches_no_units\)/);
    const status = (await admin('GET', '/admin/objectives/assistant/rollout')).json;
    expect(status.rollout.warnings.map((w: { code: string }) => w.code)).toEqual(['reaches_no_units', 'no_gate']);
  });

  it('a gated rollout that reaches its units starts with nothing to warn about or record', async () => {
    const r = await run(
      'rollout',
      'plain',
      'start',
      '--candidate',
      'm@2',
      '--steps',
      '5,100',
      '--gates',
      'maxErrorRate=0.01,minRequests=200',
    );
    expect(r.code).toBe(0);
    expect(rolloutOf('plain')).toMatchObject({ gates: { maxErrorRate: 0.01, minRequests: 200 }, percent: 5 });
    expect(r.out).toBe(
      'start: plain: m@2 at 5% (running, steps 5→100); default m@1 (revision ' + j.runtime.current!.number + ')\n',
    );
    const rev = (await admin('GET', `/admin/revisions/${j.runtime.current!.number}`)).json;
    expect(rev.notes).toBeUndefined();
    expect(await warningsOf('plain')).toEqual([]);
    // A reason given where nothing needed forcing is not recorded as a forced change.
    const again = await admin('POST', '/admin/objectives/plain/rollout/start', {
      steps: [10, 100],
      force: 'just in case',
    });
    expect(again.status).toBe(200);
    expect(again.json.forced).toBeUndefined();
    expect((await admin('GET', `/admin/revisions/${again.json.revision}`)).json.notes).toBeUndefined();
    // A manual rollout (no steps) moves only when someone moves it: no gate is needed.
    const manual = await admin('POST', '/admin/objectives/brazil/rollout/start', { candidate: 'm@2' });
    expect(manual.status).toBe(200);
    expect(await warningsOf('brazil')).toEqual([]);
  });

  it('a rollout that reaches part of its units starts, and the answer says what share', async () => {
    const r = await run(
      'rollout',
      'half',
      'start',
      '--candidate',
      'm@2',
      '--steps',
      '10,100',
      '--gates',
      'maxErrorRate=0.01',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /\n {2}reach: reaches 50% of live units \(experiment half-in \(50% of units\) before it\); the candidate gets 5%\n$/,
    );
    const { rollout } = (await admin('GET', '/admin/objectives/half/rollout')).json;
    expect(rollout.reach).toMatchObject({
      share: 0.5,
      candidateShare: 0.05,
      takenBy: ['experiment half-in (50% of units)'],
    });
    expect(rollout.warnings).toEqual([]);
  });

  it('force takes a reason, and only on start', async () => {
    const yes = await admin('POST', '/admin/objectives/assistant/rollout/start', {
      candidate: 'm@2',
      steps: [5],
      force: true,
    });
    expect(yes.status).toBe(400);
    expect(yes.json.error.message).toMatch(/force takes the reason as text/);
    const pause = await admin('POST', '/admin/objectives/assistant/rollout/pause', { force: 'why not' });
    expect(pause.json.error.message).toMatch(/force applies to start only/);
    const cli = await run('rollout', 'assistant', 'start', '--force', ' ');
    expect(cli).toMatchObject({ code: 1, err: expect.stringMatching(/--force takes the reason/) });
    const gates = await run('rollout', 'plain', 'start', '--gates', 'maxErrorRate');
    expect(gates).toMatchObject({ code: 1, err: expect.stringMatching(/--gates is name=number pairs/) });
  });
});
