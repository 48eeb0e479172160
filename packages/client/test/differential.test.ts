// The differential test of SPEC §10: for every config fixture (and a generated
// large one), 100,000 random units and contexts decide identically in the SDK
// and through the server's POST /v1/decide — and again after a live apply,
// once the SDK has followed the new revision.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../../src/app.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { benchConfig } from '../../../bench/decide.js';
import { REPO_ROOT } from '../../../test/support/onnx.js';
import { twoTargets } from '../../../test/control/configs.js';
import { JunctionClient, type ClientEvent } from '../src/index.js';
import { seeded } from '../../../test/support/seeded.js';

const N = 100_000;
const BATCH = 10_000;
const quiet = { error() {}, warn() {}, info() {} };
const CLASSES = ['live', 'live', 'live', 'test', 'synthetic'] as const;

/** Deterministic draws (mulberry32): a failure reproduces. */
const prng = seeded;

/** The generated large config: many rules over several keys, experiments with when and salts, a rollout, pins. */
function largeConfig(): Record<string, any> {
  const http = (p: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${p}`] } });
  const versions = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(i + 1), http(9100 + i)]));
  const objectives: Record<string, unknown> = {};
  for (let o = 0; o < 5; o++) {
    const pick = (i: number) => `m@${((i * 7 + o) % 8) + 1}`;
    objectives[`large-${o}`] = {
      default: 'm@1',
      pins: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`pinned-${i}`, pick(i)])),
      rules: Array.from({ length: 400 }, (_, i) => ({
        id: `r${i}`,
        when: {
          context: { country: [`C${i % 40}`, `C${(i * 3) % 40}`], ...(i % 3 === 0 ? { device: [`d${i % 5}`] } : {}) },
          ...(i % 11 === 0 ? { trafficClass: 'test' } : {}),
        },
        use: pick(i),
      })),
      experiments: [
        {
          id: `e${o}-a`,
          population: 0.3,
          when: { context: { device: ['d1', 'd2'] } },
          cells: { A: { weight: 50, use: pick(1) }, B: { weight: 50, use: pick(2) } },
        },
        {
          id: `e${o}-b`,
          salt: `salt-${o}`,
          population: 0.5,
          cells: {
            A: { weight: 20, use: pick(3) },
            B: { weight: 30, use: pick(4) },
            C: { weight: 30, use: pick(5) },
            // A balancer arm on a target another cell names: told apart by cell and balance (issue 23, item 6).
            D: { weight: 20, use: { target: pick(4), balance: 'least-load' } },
          },
        },
        {
          id: `e${o}-c`,
          population: 1,
          when: { trafficClass: ['synthetic'] },
          cells: { only: { weight: 100, use: pick(6) } },
        },
      ],
      // One objective rolls out a balancer arm rather than a version.
      rollout: { candidate: o === 4 ? { target: pick(7), balance: 'least-load' } : pick(7), percent: 35 },
    };
  }
  return { models: { m: { class: 'scorer', versions } }, objectives };
}

/** A different revision of the same config: rules reversed, rollouts moved, experiment populations changed. */
function changed(source: Record<string, any>): Record<string, any> {
  const next = structuredClone(source);
  for (const o of Object.values<any>(next.objectives ?? {})) {
    if (Array.isArray(o.rules)) o.rules.reverse();
    if (o.rollout) o.rollout.percent = ((o.rollout.percent ?? 0) + 41) % 101;
    for (const e of o.experiments ?? []) e.population = Math.max(0.05, Math.min(1, (e.population ?? 1) * 0.6));
  }
  return next;
}

interface Item {
  objective: string;
  unit: string;
  context: Record<string, string>;
  trafficClass: string;
}

/** Random requests that exercise the config: context values its rules name (and others), pinned units, every class. */
function requests(source: Record<string, any>, seed: number): Item[] {
  const rand = prng(seed);
  const objectives = Object.keys(source.objectives ?? {});
  const values = new Map<string, Map<string, string[]>>();
  const pins = new Map<string, string[]>();
  for (const [name, o] of Object.entries<any>(source.objectives ?? {})) {
    const keys = new Map<string, Set<string>>();
    const collect = (when: any) => {
      for (const [k, v] of Object.entries<any>(when?.context ?? {})) {
        const set = keys.get(k) ?? new Set<string>();
        for (const x of Array.isArray(v) ? v : [v]) set.add(String(x));
        keys.set(k, set);
      }
    };
    for (const r of o.rules ?? []) collect(r.when);
    for (const e of o.experiments ?? []) collect(e.when);
    values.set(name, new Map([...keys].map(([k, s]) => [k, [...s, 'zz']])));
    pins.set(name, Object.keys(o.pins ?? {}));
  }
  const items: Item[] = [];
  for (let i = 0; i < N; i++) {
    const objective = objectives[Math.floor(rand() * objectives.length)]!;
    const pinned = pins.get(objective)!;
    // Half the units come back (200 of them, in every objective, across the apply too), so the
    // SDK's bucket memo answers many decisions and is compared with the server, which has none.
    const unit =
      pinned.length > 0 && rand() < 0.05
        ? pinned[Math.floor(rand() * pinned.length)]!
        : rand() < 0.5
          ? `r-${Math.floor(rand() * 200)}`
          : `u-${Math.floor(rand() * 1e9).toString(36)}`;
    const context: Record<string, string> = {};
    for (const [k, vs] of values.get(objective)!) if (rand() < 0.7) context[k] = vs[Math.floor(rand() * vs.length)]!;
    if (rand() < 0.2) context.other = 'x';
    items.push({ objective, unit, context, trafficClass: CLASSES[Math.floor(rand() * CLASSES.length)]! });
  }
  return items;
}

/** Whether some objective allocates by bucket (an experiment, or a rollout above 0 %). */
function hasBuckets(source: {
  objectives?: Record<string, { experiments?: unknown[]; rollout?: { percent?: number } }>;
}): boolean {
  return Object.values(source.objectives ?? {}).some(
    (o) => (o.experiments ?? []).length > 0 || (o.rollout?.percent ?? 0) > 0,
  );
}

const key = (d: {
  target: string;
  rule: string;
  cell: string | null;
  experiment: string | null;
  balance: string | null;
  revision: number;
}) => `${d.target}|${d.rule}|${d.cell ?? ''}|${d.experiment ?? ''}|${d.balance ?? ''}|${d.revision}`;

async function serverDecisions(url: string, items: Item[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += BATCH) {
    const res = await request(`${url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: items.slice(i, i + BATCH) }),
    });
    const body = (await res.body.json()) as { decisions: any[] };
    expect(res.statusCode).toBe(200);
    for (const d of body.decisions) out.push(d.error ? `error:${d.error.code}` : key(d));
  }
  return out;
}

function sdkDecisions(jc: JunctionClient, items: Item[]): string[] {
  return items.map((it) => {
    try {
      return key(
        jc.decide(it.objective, { unit: it.unit, context: it.context, trafficClass: it.trafficClass as 'live' }),
      );
    } catch (err) {
      return `error:${(err as { code: string }).code}`;
    }
  });
}

function mismatches(items: Item[], sdk: string[], server: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length && out.length < 5; i++) {
    if (sdk[i] !== server[i]) out.push(`${JSON.stringify(items[i])}: sdk ${sdk[i]} server ${server[i]}`);
  }
  return out;
}

const fixtures: Array<[string, () => { source: Record<string, any>; baseDir: string }]> = [
  ...readdirSync(join(REPO_ROOT, 'test/fixtures'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(REPO_ROOT, 'test/fixtures', f))
    .concat(
      readdirSync(join(REPO_ROOT, 'examples'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(REPO_ROOT, 'examples', f)),
    )
    .flatMap((file): Array<[string, () => { source: Record<string, any>; baseDir: string }]> => {
      try {
        const loaded = loadConfigFile(file); // fixtures of refused configs have nothing to decide…
        // … nor those naming model files that do not exist (they test that Junction refuses to serve them).
        const paths = Object.values(loaded.config.models)
          .flatMap((m) => Object.values(m.versions))
          .flatMap((v) => (v.backend.type === 'onnx' ? [resolve(loaded.baseDir, v.backend.path)] : []));
        if (!paths.every((p) => existsSync(p))) return [];
        return [
          [
            file.slice(REPO_ROOT.length + 1),
            () => ({ source: loaded.source as Record<string, any>, baseDir: loaded.baseDir }),
          ],
        ];
      } catch {
        return [];
      }
    }),
  ['bench config (50 objectives)', () => ({ source: benchConfig(50) as Record<string, any>, baseDir: REPO_ROOT })],
  [
    'two targets with pins and a rollout',
    () => ({
      source: twoTargets('http://127.0.0.1:1', 'http://127.0.0.1:2', 'm@1', {
        pins: { 'pinned-1': 'm@2' },
        rollout: { candidate: 'm@2', percent: 50 },
      }),
      baseDir: REPO_ROOT,
    }),
  ],
  [
    'generated: 5 objectives × 400 rules, 3 experiments, a rollout, 50 pins',
    () => ({ source: largeConfig(), baseDir: REPO_ROOT }),
  ],
];

describe('SDK and server decide identically', () => {
  const open: Array<Junction | JunctionClient> = [];
  afterAll(async () => {
    for (const x of open.reverse()) await x.close();
  });

  it.each(fixtures)(
    '%s: 100,000 units and contexts, before and after a live apply',
    async (_name, fixture) => {
      const { source, baseDir } = fixture();
      const j = await startJunction({ port: 0, config: source, baseDir, control: { data: ':memory:' }, log: quiet });
      open.push(j);
      const events: ClientEvent[] = [];
      const jc = await JunctionClient.connect({ url: j.url, exposures: false, onEvent: (e) => events.push(e) });
      open.push(jc);
      // A memo too large to warm up in this test never steps aside: every decision goes through it.
      const memo = await JunctionClient.connect({ url: j.url, exposures: false, bucketMemo: 1 << 20 });
      open.push(memo);

      const items = requests(source, 42);
      const server = await serverDecisions(j.url, items);
      expect(mismatches(items, sdkDecisions(jc, items), server)).toEqual([]);
      expect(mismatches(items, sdkDecisions(memo, items), server)).toEqual([]);

      const from = jc.revision!;
      await j.control!.plane.apply({ source: changed(source), author: 'test', message: 'differential' });
      for (let i = 0; i < 500 && jc.revision === from; i++) await new Promise((r) => setTimeout(r, 10));
      expect(jc.revision).toBe(from + 1);
      for (let i = 0; i < 500 && memo.revision === from; i++) await new Promise((r) => setTimeout(r, 10));
      expect(memo.revision).toBe(from + 1);
      const again = requests(source, 7);
      const serverAgain = await serverDecisions(j.url, again);
      expect(mismatches(again, sdkDecisions(jc, again), serverAgain)).toEqual([]);
      expect(mismatches(again, sdkDecisions(memo, again), serverAgain)).toEqual([]);
      if (hasBuckets(source)) expect(memo.stats.buckets!.hits).toBeGreaterThan(100);
      expect(memo.stats.buckets!.bypassed).toBe(0);
      await memo.close();
      await jc.close();
      await j.close();
    },
    120_000,
  );
});
