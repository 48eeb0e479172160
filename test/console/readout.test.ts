// The console's experiment readout in a real browser: a real Junction writing
// a decision log and a feedback log, real upstreams, units sent with
// x-unit-id and feedback posted to /v1/feedback; Chromium opens the
// objective, clicks Read out, and the page must show the cells' units and a
// metric's means the admin API answers for the same experiment. A Junction
// without a decision log must show why there is no readout, not crash.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../scripts/build-console.js';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not installed`;
if (skip && process.env.JUNCTION_REQUIRE_SERVICES === '1') throw new Error(`JUNCTION_REQUIRE_SERVICES=1: ${skip}`);

const UNITS = 24;
const quiet = { error() {}, warn() {}, info() {} };
let dir: string;
let profile: string;
let upstream: Upstream;
let j: Junction;
/** Same config, no logs: the readout has nothing to read. */
let bare: Junction;
let browser: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

const configOf = (url: string) => {
  const backend = { type: 'http', endpoints: [url] };
  return {
    models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
    objectives: {
      cw: {
        default: 'ranker@6',
        experiments: [
          {
            id: 'cw-42',
            population: 1,
            cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
          },
        ],
      },
    },
  };
};

/** The writer flushes on the next turn of the event loop: wait (bounded) until `file` holds `n` lines. */
async function untilLines(file: string, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${file} never reached ${n} lines`);
}

beforeAll(async () => {
  if (skip) return;
  await buildConsole();
  dir = mkdtempSync(join(tmpdir(), 'junction-readout-ui-'));
  upstream = await startUpstream('ranker');
  const common = { port: 0, config: configOf(upstream.url), log: quiet };
  j = await startJunction({
    ...common,
    decisionLog: join(dir, 'decisions.jsonl'),
    feedbackLog: join(dir, 'feedback.jsonl'),
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
  });
  bare = await startJunction({ ...common, control: { data: ':memory:', admin: { port: 0, insecure: true } } });
  // Odd units call twice, so a cell's exposures differ from its units.
  let requests = 0;
  for (let i = 0; i < UNITS * 2; i++) {
    const u = i % UNITS;
    if (i >= UNITS && u % 2 === 0) continue;
    requests++;
    const res = await fetch(`${j.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-unit-id': `u-${u}` },
      body: '{"x":1}',
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  // Every third unit clicks, with values that differ so the means say something.
  const feedback = Array.from({ length: UNITS }, (_, u) => u)
    .filter((u) => u % 3 === 0)
    .map((u) => ({ objective: 'cw', unit: `u-${u}`, metric: 'click', value: 1 + (u % 2) }));
  const fb = await fetch(`${j.url}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feedback }),
  });
  expect(fb.status).toBe(202);
  await untilLines(join(dir, 'decisions.jsonl'), requests);
  await untilLines(join(dir, 'feedback.jsonl'), feedback.length);

  profile = mkdtempSync(join(tmpdir(), 'junction-readout-ui-profile-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 390, height: 844 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (m) => {
    // Chromium logs every non-2xx fetch; the 404 of the Junction without logs is what one test asks for.
    if (m.type() === 'error' && !/status of 404/.test(m.text())) pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await j?.close();
  await bare?.close();
  await upstream?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const readout = () => page.getByRole('region', { name: 'Readout of cw-42' });

describe.skipIf(skip !== undefined)("the console's experiment readout", () => {
  it('shows per cell units and a metric mean equal to what the admin API answers', async () => {
    const api = (await (await fetch(`${j.control!.adminUrl}/admin/experiments/cw-42/results`)).json()) as {
      experiment: {
        cells: Array<{ cell: string; units: number; exposures: number }>;
        metrics: Array<{ metric: string; cells: Array<{ cell: string; mean: number }> }>;
      };
    };
    const cells = api.experiment.cells;
    expect(cells.reduce((a, c) => a + c.units, 0)).toBe(UNITS);
    const click = api.experiment.metrics.find((m) => m.metric === 'click')!;
    expect(click.cells.some((c) => c.mean > 0)).toBe(true);

    await page.goto(`${j.control!.adminUrl}/ui/#/objectives/cw`);
    await readout().getByRole('button', { name: 'Read out' }).click();
    const table = readout().locator('table.readout-cells');
    await table.waitFor();
    for (const c of cells) {
      expect(Number(await table.locator(`tr[data-cell="${c.cell}"] td.units`).textContent())).toBe(c.units);
      expect(Number(await table.locator(`tr[data-cell="${c.cell}"] td.exposures`).textContent())).toBe(c.exposures);
    }
    expect(cells.reduce((a, c) => a + c.exposures, 0)).toBeGreaterThan(UNITS);
    for (const c of click.cells) {
      const shown = await readout()
        .locator(`table.readout-metric[data-metric="click"] tr[data-cell="${c.cell}"] td.mean`)
        .textContent();
      expect(Number(shown)).toBeCloseTo(c.mean, 3);
    }
    expect(await readout().locator('.srm').textContent()).toContain('weights from');
    expect(await readout().textContent()).toContain("Read from this process's logs"); // no PostgreSQL store here
    // The readout fits the phone: the page does not scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(dir, 'readout.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('says why there is no readout when the Junction writes no decision log', async () => {
    await page.goto(`${bare.control!.adminUrl}/ui/#/objectives/cw`);
    await readout().getByRole('button', { name: 'Read out' }).click();
    await expect.poll(() => readout().getByRole('alert').textContent()).toContain('no decision log');
    expect(await page.locator('h1').textContent()).toContain('cw');
    expect(pageErrors).toEqual([]);
  });
});
