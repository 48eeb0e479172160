// The fleet view's bad inputs (SPEC §19), with real stores: processes sharing
// one SQLite file (--workers) sum as one; on PostgreSQL a silent process and a
// clock-skewed one are named and left out; a store that goes down keeps the
// slots for the next publish (the process catches up), drops and counts what
// waits longer than the ring holds, and never touches serving; a publish sent
// twice counts once, and an older one landing late replaces nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetTraffic } from '../../src/control/fleet-traffic.js';
import type { TrafficRow } from '../../src/control/fleet-traffic-types.js';
import { PostgresStore } from '../../src/control/postgres-store.js';
import { SqliteStore } from '../../src/control/sqlite-store.js';
import { SLOT_MS, SLOTS, TrafficStats, type TrafficSnapshot } from '../../src/control/traffic-stats.js';
import { newRecord } from '../../src/observe/record.js';
import { compileRouting } from '../../src/routing/compile.js';
import { dropSchema, PGURL, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { tcpProxy } from '../support/tcp-proxy.js';
import { startUpstream } from '../support/upstream.js';

const pgSkip = await postgresSkipReason();

const source = {
  models: {
    m: {
      class: 'scorer',
      versions: {
        '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } },
        '2': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } },
      },
    },
  },
  objectives: {
    cw: {
      default: 'm@1',
      experiments: [
        { id: 'e', population: 1, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
      ],
    },
  },
};
const config = validateConfig(source);
const cw = compileRouting(config, 1).objectives.get('cw')!;
const [cellA, cellB] = cw.experiments[0]!.cells.map((c) => c.outcome);

/** A clock on the wall clock's scale, `offset` ms off it (a process whose clock is wrong). */
function clockOff(offset = 0) {
  return { origin: 0, now: () => Date.now() + offset, offset };
}

/** `n` requests served now on `stats`'s clock, `status` each, in cell A or B. */
function serve(stats: TrafficStats, n: number, outcome = cellA!, status = 200): void {
  for (let i = 0; i < n; i++) {
    const now = stats.clock.now();
    const r = newRecord(`r${i}`, 'POST', '/v1/objectives/cw', now - 12);
    r.outcome = outcome;
    r.firstByte = now - 6;
    r.end = now;
    r.status = status;
    stats.observe(r);
  }
}

const requestsOf = (s: TrafficSnapshot, target: string) =>
  s.objectives.cw!.targets.find((t) => t.target === target)?.requests ?? 0;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fleet traffic on one SQLite file (--workers)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-fleet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('each process reads the sum of both, and a single process reads what it counted', async () => {
    const storeA = new SqliteStore(dir);
    const storeB = new SqliteStore(dir);
    const a = new FleetTraffic({ store: storeA, stats: new TrafficStats(clockOff()) });
    const b = new FleetTraffic({ store: storeB, stats: new TrafficStats(clockOff()) });
    // Alone, before b has published: the same numbers as the process's own view.
    serve(a.stats, 3);
    serve(a.stats, 1, cellB, 503);
    const alone = await a.snapshot(config, 1);
    expect(alone.objectives).toEqual(a.stats.snapshot(config, 1).objectives);
    expect(alone.fleet).toMatchObject({ processes: 1, reporting: [a.name], stale: [] });
    serve(b.stats, 5);
    await a.publish();
    await b.publish();
    for (const reader of [a, b]) {
      const s = await reader.snapshot(config, 1);
      expect(requestsOf(s, 'm@1')).toBe(8);
      const m2 = s.objectives.cw!.targets.find((t) => t.target === 'm@2')!;
      expect(m2).toMatchObject({ requests: 1, errors: 1, errorRate: 1, ttftP50Ms: expect.any(Number) });
      expect(s.objectives.cw!.experiments[0]!.cells.map((c) => c.exposures)).toEqual([8, 1]);
      expect(s.fleet!.processes).toBe(2);
      expect(new Set(s.fleet!.reporting)).toEqual(new Set([a.name, b.name]));
    }
    await a.close();
    await b.close();
    await storeA.close();
    await storeB.close();
  });
});

describe.skipIf(pgSkip !== undefined)(`fleet traffic on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  async function open(url?: string): Promise<PostgresStore> {
    if (url === undefined) {
      const schema = uniqueSchema('jfleet');
      schemas.push(schema);
      url = storeUrl(schema);
    }
    const s = await PostgresStore.open(url);
    stores.push(s);
    return s;
  }
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    for (const s of schemas) await dropSchema(s);
  });

  it('a silent process is named stale with its last publish, and left out until it publishes again', async () => {
    const store = await open();
    const silent = new FleetTraffic({ store, stats: new TrafficStats(clockOff()) });
    const reader = new FleetTraffic({ store, stats: new TrafficStats(clockOff()), staleMs: 400 });
    // The default bound for the first look: on a loaded machine 400 ms may pass before it reads.
    const patient = new FleetTraffic({ store, stats: new TrafficStats(clockOff()) });
    serve(silent.stats, 7);
    await silent.publish();
    const fresh = await patient.snapshot(config, 1);
    expect(requestsOf(fresh, 'm@1')).toBe(7);
    expect(fresh.fleet).toMatchObject({ processes: 2, stale: [] });
    const stale = await until(
      'the silent process goes stale',
      () => reader.snapshot(config, 1),
      (s) => s.fleet!.stale.length === 1,
    );
    expect(requestsOf(stale, 'm@1')).toBe(0);
    expect(stale.fleet).toMatchObject({ processes: 1, reporting: [reader.name] });
    expect(stale.fleet!.stale[0]).toMatchObject({ name: silent.name, reason: 'silent' });
    expect(Date.now() - Date.parse(stale.fleet!.stale[0]!.lastSeen)).toBeGreaterThanOrEqual(400);
    // Publishing again brings it back (read within 400 ms of a publish, however busy the machine).
    await until(
      'the silent process reports again',
      async () => {
        await silent.publish();
        return requestsOf(await reader.snapshot(config, 1), 'm@1');
      },
      (n) => n === 7,
    );
  });

  it("a process whose clock is off the store's is marked and left out; its neighbours are not", async () => {
    const store = await open();
    const skewed = new FleetTraffic({ store, stats: new TrafficStats(clockOff(60_000)) });
    const good = new FleetTraffic({ store, stats: new TrafficStats(clockOff(800)) }); // within the bound
    const reader = new FleetTraffic({ store, stats: new TrafficStats(clockOff()) });
    serve(skewed.stats, 4);
    serve(good.stats, 2);
    // A publish measures the clock against the store's; the next one records it.
    await skewed.publish();
    await skewed.publish();
    await good.publish();
    await good.publish();
    const s = await reader.snapshot(config, 5);
    expect(requestsOf(s, 'm@1')).toBe(2);
    expect(s.fleet!.reporting).toContain(good.name);
    expect(s.fleet!.stale).toHaveLength(1);
    expect(s.fleet!.stale[0]).toMatchObject({ name: skewed.name, reason: 'clock-skew' });
    expect(s.fleet!.stale[0]!.skewMs).toBeGreaterThan(59_000);
  });

  it('a publish sent twice counts once, and an older one landing late replaces nothing', async () => {
    const store = await open();
    const reader = new FleetTraffic({ store, stats: new TrafficStats(clockOff()) });
    const slot = Math.floor(Date.now() / SLOT_MS);
    const row = (requests: number): TrafficRow => ({
      slot,
      objective: 'cw',
      target: 'm@1',
      experiment: '',
      cell: '',
      currency: 'USD',
      requests,
      errors: 0,
      fallbacks: 0,
      decided: 0,
      latency: [],
      ttft: [],
      prompt: 10 * requests,
      completion: 5 * requests,
      cost: 0.5 * requests,
    });
    const publish = (seq: number, requests: number) =>
      store.publishTraffic({
        process: 'p',
        startedAt: Date.now() - 60_000,
        seq,
        skewMs: 0,
        rows: [row(requests)],
      });
    await publish(1, 10);
    await publish(1, 10); // the retry of a publish whose answer was lost
    const t = () => reader.snapshot(config, 1).then((s) => s.objectives.cw!.targets[0]!);
    expect(await t()).toMatchObject({
      requests: 10,
      tokens: { prompt: 100, completion: 50 },
      cost: [{ currency: 'USD', amount: 5 }],
    });
    await publish(3, 12);
    await publish(2, 11); // sent before the one above, landed after it
    expect((await t()).requests).toBe(12);
  });

  it('while the store is down the slots wait, go out when it is back (caught up), and what waits too long is counted as dropped', async () => {
    const url = new URL(PGURL);
    const proxy = await tcpProxy(url.hostname, Number(url.port || 5432));
    const schema = uniqueSchema('jfleet');
    schemas.push(schema);
    const through = new URL(storeUrl(schema));
    through.host = `127.0.0.1:${proxy.port}`;
    const cut = await open(through.toString());
    const reader = new FleetTraffic({ store: await open(storeUrl(schema)), stats: new TrafficStats(clockOff()) });
    const clock = clockOff();
    const errors: unknown[] = [];
    let dropped = 0;
    const p = new FleetTraffic({
      store: cut,
      stats: new TrafficStats(clock),
      onPublishError: (e) => errors.push(e),
      onDropped: (n) => (dropped += n),
    });
    serve(p.stats, 3);
    await p.publish();
    expect(errors).toEqual([]);
    await proxy.cut();
    serve(p.stats, 4);
    await p.publish();
    expect(errors.length).toBe(1);
    expect(requestsOf(await reader.snapshot(config, 1), 'm@1')).toBe(3);
    await proxy.restore();
    await p.publish();
    expect(requestsOf(await reader.snapshot(config, 1), 'm@1')).toBe(7);

    // Down for longer than the ring holds: the old slots are reused unpublished, dropped and counted.
    await proxy.cut();
    serve(p.stats, 2);
    await p.publish();
    // Five minutes on, a request in every slot: each ring position is counted into anew.
    for (let k = 1; k <= SLOTS; k++) {
      clock.now = () => Date.now() + k * SLOT_MS;
      serve(p.stats, 1);
    }
    await p.publish();
    expect(dropped).toBeGreaterThan(0);
    await proxy.close();
    await p.close();
  });

  it('a Junction whose store is down keeps serving, and its admin API answers with its own numbers and why', async () => {
    const url = new URL(PGURL);
    const proxy = await tcpProxy(url.hostname, Number(url.port || 5432));
    const up = await startUpstream();
    const schema = uniqueSchema('jfleet');
    schemas.push(schema);
    const through = new URL(storeUrl(schema));
    through.host = `127.0.0.1:${proxy.port}`;
    const j = await startJunction({
      port: 0,
      config: {
        models: { m: { class: 'scorer', versions: { '1': { backend: { type: 'http', endpoints: [up.url] } } } } },
        objectives: { cw: { default: 'm@1' } },
      },
      control: { store: through.toString(), admin: { port: 0, insecure: true }, fleet: { publishMs: 100 } },
    });
    try {
      await proxy.cut();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${j.url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      const t = (await (await fetch(`${j.control!.adminUrl}/admin/traffic?minutes=1`)).json()) as TrafficSnapshot;
      expect(requestsOf(t, 'm@1')).toBe(20);
      expect(t.fleet).toMatchObject({ processes: 1, storeError: expect.any(String) });
      await proxy.restore();
      // Back: the slots published, as any other replica would read them.
      const other = new FleetTraffic({ store: await open(storeUrl(schema)), stats: new TrafficStats(clockOff()) });
      await until(
        'the requests served while the store was down are published',
        () => other.snapshot(config, 1).then((s) => requestsOf(s, 'm@1')),
        (n) => n === 20,
      );
    } finally {
      await j.close();
      await proxy.close();
      await up.close();
    }
  });
});
