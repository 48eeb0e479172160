// The fleet view through real processes (SPEC §19, issue 28 item 5): three
// replicas of `junction serve` on one PostgreSQL schema, two of them with
// --workers 2 (five serving processes), traffic spread over all of them.
// GET /admin/traffic on any replica answers the fleet's total, exactly, once
// published; the console (Chromium) shows it; a replica killed with SIGKILL
// goes stale and its traffic leaves the sum; one started in its place reports.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildConsole } from '../../scripts/build-console.js';
import type { TrafficSnapshot } from '../../src/control/traffic-stats.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const CHROMIUM = '/usr/bin/chromium';
/** Processes from source on a loaded 2-core machine start slowly. */
const READY_MS = 60_000;
const pgSkip = await postgresSkipReason();

let up: Upstream;
let dir: string;
let schema: string;
let file: string;
const replicas: JunctionProcess[] = [];

const serveArgs = (workers: number) => [
  'serve',
  ...(workers > 1 ? ['--workers', String(workers)] : []),
  '--config',
  file,
  '--store',
  storeUrl(schema),
  '--port',
  '0',
  '--admin-port',
  '0',
  '--host',
  '127.0.0.1',
  '--insecure-admin',
];

beforeAll(async () => {
  if (pgSkip) return;
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'junction-fleet-'));
  schema = uniqueSchema('jfleet');
  file = join(dir, 'junction.yaml');
  const cells = { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } };
  writeFileSync(
    file,
    stringify(twoTargets(up.url, up.url, 'm@1', { experiments: [{ id: 'e', population: 1, cells }] })),
  );
  // One first (it seeds the empty store), then the other two together.
  replicas.push(await spawnJunction(serveArgs(2), {}, READY_MS));
  replicas.push(
    ...(await Promise.all([spawnJunction(serveArgs(2), {}, READY_MS), spawnJunction(serveArgs(1), {}, READY_MS)])),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await up?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (schema) await dropSchema(schema);
});

const exposures: Record<string, number> = { A: 0, B: 0 };

/** `n` requests to one replica, each on a connection of its own so that its workers share them. */
async function send(r: JunctionProcess, n: number, from: number): Promise<void> {
  for (let u = from; u < from + n; u++) {
    const agent = new Agent({ pipelining: 0 });
    const res = await request(`${r.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { 'x-unit-id': `user-${u}` },
      body: '{}',
      dispatcher: agent,
    });
    await res.body.text();
    await agent.close();
    expect(res.statusCode).toBe(200);
    exposures[/cell=(\w)/.exec(String(res.headers['x-decision']))![1]!]!++;
  }
}

async function traffic(r: JunctionProcess): Promise<TrafficSnapshot> {
  const res = await request(`${r.adminUrl}/admin/traffic?minutes=5`);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as TrafficSnapshot;
}

const total = (t: TrafficSnapshot) => t.objectives.cw!.targets.reduce((n, x) => n + x.requests, 0);

/** Polls one replica's /admin/traffic until `ok`, within `ms` (publishes every 2 s, stale after 10 s). */
async function until(r: JunctionProcess, what: string, ok: (t: TrafficSnapshot) => boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = await traffic(r);
    if (ok(t)) return t;
    if (Date.now() > deadline)
      throw new Error(`${what}: total ${total(t)}, fleet ${JSON.stringify(t.fleet)}\n${r.stderr().slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe.skipIf(pgSkip !== undefined)(
  `the fleet's traffic over three replicas on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`,
  () => {
    it('every replica answers the fleet total; a killed one goes stale and leaves it; its successor reports', async () => {
      const sent = [30, 24, 18];
      await Promise.all(replicas.map((r, i) => send(r, sent[i]!, i * 1000)));
      const all = sent.reduce((a, b) => a + b, 0);
      // Five serving processes: 2 + 2 workers and one alone.
      for (const r of replicas) {
        const t = await until(r, 'the fleet total', (x) => total(x) === all && x.fleet?.processes === 5);
        expect(t.fleet!.stale).toEqual([]);
        expect(t.fleet!.reporting).toHaveLength(5);
        expect(t.objectives.cw!.experiments[0]!.cells.map((c) => c.exposures)).toEqual([exposures.A, exposures.B]);
      }

      if (existsSync(CHROMIUM)) {
        // The console on one replica's admin port shows the fleet's count per target, not its own share.
        await buildConsole();
        const expected = (await traffic(replicas[0]!)).objectives.cw!.targets;
        const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
        try {
          const page = await browser.newPage();
          await page.goto(`${replicas[0]!.adminUrl}/ui/#/objectives/cw`);
          for (const t of expected) {
            const cell = page.locator(`table.traffic tr[data-target="${t.target}"] td.requests`);
            await expect.poll(async () => Number(await cell.textContent()), { timeout: 10_000 }).toBe(t.requests);
          }
        } finally {
          await browser.close();
        }
      }

      // SIGKILL: no last publish, no goodbye. Its traffic leaves the sum once it is stale.
      const lone = replicas[2]!;
      const name = (await traffic(lone)).scope.process!;
      lone.child.kill('SIGKILL');
      const after = await until(replicas[0]!, 'the killed replica goes stale', (x) =>
        x.fleet!.stale.some((s) => s.name === name),
      );
      expect(total(after)).toBe(all - sent[2]!);
      expect(after.fleet!.processes).toBe(4);
      expect(after.fleet!.reporting).not.toContain(name);
      expect(after.fleet!.stale.find((s) => s.name === name)).toMatchObject({ reason: 'silent' });

      // A replica started in its place reports its own traffic with the rest.
      const successor = await spawnJunction(serveArgs(1), {}, READY_MS);
      replicas[2] = successor;
      await send(successor, 6, 5000);
      const back = await until(replicas[1]!, 'the successor reports', (x) => total(x) === all - sent[2]! + 6);
      expect(back.fleet!.processes).toBe(5);
      expect(back.fleet!.reporting).toContain((await traffic(successor)).scope.process);
    }, 120_000);
  },
);
