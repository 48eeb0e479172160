// Config changes (SPEC §9): zero failed requests while revisions are applied
// under load, and how long replicas on one PostgreSQL store take to serve a
// new revision (three real processes; skipped without PostgreSQL).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { startJunction } from '../src/app.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../test/support/postgres.js';
import { spawnJunction } from '../test/support/junction-process.js';
import { startUpstream } from '../test/support/upstream.js';
import type { BenchSection } from './report.js';

const config = (a: string, b: string, def: string) => ({
  models: {
    m: {
      versions: {
        '1': { backend: { type: 'http', endpoints: [a] } },
        '2': { backend: { type: 'http', endpoints: [b] } },
      },
    },
  },
  objectives: { cw: { default: def } },
});

async function applyUnderLoad(seconds: number, concurrency: number): Promise<Record<string, string | number>> {
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const j = await startJunction({
    config: config(a.url, b.url, 'm@1'),
    port: 0,
    control: { data: ':memory:' },
    log: { error() {}, warn() {}, info() {} },
  });
  const agent = new Agent({ connections: concurrency });
  let ok = 0;
  let failed = 0;
  let stop = false;
  const client = async () => {
    while (!stop) {
      try {
        const res = await request(`${j.url}/v1/objectives/cw`, { method: 'POST', body: '{}', dispatcher: agent });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  const end = performance.now() + seconds * 1000;
  let applies = 0;
  let applyMs = 0;
  while (performance.now() < end) {
    const t = performance.now();
    await j.control!.plane.apply({
      source: config(a.url, b.url, applies % 2 ? 'm@1' : 'm@2'),
      author: 'bench',
      message: '',
    });
    applyMs += performance.now() - t;
    applies++;
    await new Promise((r) => setTimeout(r, 100));
  }
  stop = true;
  await Promise.all(clients);
  await agent.close();
  await j.close();
  await Promise.all([a.close(), b.close()]);
  return {
    scenario: `apply every ~100 ms under load (${concurrency} clients, ${seconds} s)`,
    requests: ok + failed,
    applies,
    failed,
    'mean apply ms': +(applyMs / applies).toFixed(1),
  };
}

async function replicaConvergence(rounds: number): Promise<Record<string, string | number> | string> {
  const skip = await postgresSkipReason().catch((err: Error) => err.message);
  if (skip) return `replica convergence skipped: ${skip}`;
  const schema = uniqueSchema('jbench');
  const dir = mkdtempSync(join(tmpdir(), 'junction-bench-'));
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const file = join(dir, 'junction.json');
  writeFileSync(file, JSON.stringify(config(a.url, b.url, 'm@1')));
  const args = [
    'serve',
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
  const replicas = await Promise.all([0, 1, 2].map(() => spawnJunction(args)));
  const times: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      const res = await request(`${replicas[i % 3]!.adminUrl}/admin/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' }, // the admin API refuses a change that is not JSON
        body: JSON.stringify(config(a.url, b.url, i % 2 ? 'm@1' : 'm@2')),
      });
      const { revision } = (await res.body.json()) as { revision: number };
      for (;;) {
        const seen = await Promise.all(
          replicas.map(async (r) => {
            const s = await request(`${r.url}/v1/config/snapshot`);
            return ((await s.body.json()) as { revision: number }).revision;
          }),
        );
        if (seen.every((n) => n === revision)) break;
      }
      times.push(performance.now() - t);
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  }
  times.sort((x, y) => x - y);
  return {
    scenario: `3 replicas on PostgreSQL: apply → all serve it (${rounds} applies)`,
    'p50 ms': +times[Math.floor(times.length / 2)]!.toFixed(1),
    'max ms': +times[times.length - 1]!.toFixed(1),
  };
}

export async function benchControl(quick = process.argv.includes('--quick')): Promise<BenchSection> {
  const rows: Array<Record<string, string | number>> = [await applyUnderLoad(quick ? 2 : 5, 32)];
  const notes = [
    'targets: zero failed requests across applies under full load; replicas converge in ≤ 1 s (apply included)',
  ];
  const convergence = await replicaConvergence(quick ? 5 : 20);
  if (typeof convergence === 'string') notes.push(convergence);
  else rows.push(convergence);
  return { name: 'config changes', rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchControl());
}
