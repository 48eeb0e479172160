// What the console's polling costs the data plane (SPEC §11): the same load
// with no console open, with one console on the objective page (traffic every
// 2 s, objectives every 5 s, as console/views/objective.js polls), and with
// forty such consoles. Phases are interleaved in rounds so drift hits all alike.
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { startJunction } from '../src/app.js';
import { validateConfig } from '../src/config/load.js';
import { GateStats } from '../src/control/gate-stats.js';
import { TrafficStats } from '../src/control/traffic-stats.js';
import { newRecord } from '../src/observe/record.js';
import { compileRouting } from '../src/routing/compile.js';
import { startUpstream } from '../test/support/upstream.js';
import type { BenchSection } from './report.js';

const config = (a: string, b: string) => ({
  models: {
    m: {
      versions: {
        '1': { backend: { type: 'http', endpoints: [a] } },
        '2': { backend: { type: 'http', endpoints: [b] } },
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
});

interface Phase {
  name: string;
  consoles: number;
}
const PHASES: Phase[] = [
  { name: 'no console', consoles: 0 },
  { name: '1 console polling', consoles: 1 },
  { name: '40 consoles polling', consoles: 40 },
];

/**
 * ns per request the console's counting adds to the request path
 * (TrafficStats.observe in a loop), and the same for the rollout gates'
 * counting (GateStats.observe), which every request with a rollout already pays.
 */
function observeNs(n: number): { traffic: number; gates: number } {
  const cfg = validateConfig(config('http://127.0.0.1:9', 'http://127.0.0.1:9'));
  const o = compileRouting(cfg, 1).objectives.get('cw')!;
  const outcomes = o.experiments[0]!.cells.map((c) => c.outcome);
  const traffic = new TrafficStats();
  const gates = new GateStats();
  gates.track(new Map([['cw', { scoreSample: 0, baseline: 'm@1', candidate: 'm@2' }]]));
  // The gates count only what a rollout routed (the rest returns at once): time that, their real work.
  const routed = [
    { ...outcomes[0]!, step: 'default' as const },
    { ...outcomes[1]!, step: 'rollout' as const },
  ];
  const r = newRecord('id', 'POST', '/v1/objectives/cw', 0);
  r.status = 200;
  r.end = 12;
  const time = (observe: typeof traffic.observe, seen = outcomes) => {
    for (let i = 0; i < n; i++) {
      r.outcome = seen[i & 1];
      observe(r);
    } // warm up
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      r.outcome = seen[i & 1];
      observe(r);
    }
    return Number(process.hrtime.bigint() - t) / n;
  };
  return { traffic: time(traffic.observe), gates: time(gates.observe, routed) };
}

export async function benchConsole(quick = process.argv.includes('--quick')): Promise<BenchSection> {
  const seconds = quick ? 1.5 : 3;
  const rounds = quick ? 2 : 3;
  const concurrency = 32;
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const j = await startJunction({
    config: config(a.url, b.url),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
    log: { error() {}, warn() {}, info() {} },
  });
  const admin = j.control!.adminUrl!;
  const agent = new Agent({ connections: concurrency });
  let trafficCpuMs: number;
  let objectivesCpuMs: number;
  const totals = new Map<string, { ok: number; failed: number; seconds: number; lat: number[]; polls: number }>();
  try {
    // Round -1 warms the JIT and the connections up and is not counted.
    for (let round = -1; round < rounds; round++) {
      for (const phase of PHASES) {
        const t =
          round < 0
            ? { ok: 0, failed: 0, seconds: 0, lat: [] as number[], polls: 0 }
            : (totals.get(phase.name) ?? { ok: 0, failed: 0, seconds: 0, lat: [], polls: 0 });
        if (round >= 0) totals.set(phase.name, t);
        let stop = false;
        const client = async (u: number) => {
          while (!stop) {
            const start = performance.now();
            try {
              const res = await request(`${j.url}/v1/objectives/cw`, {
                method: 'POST',
                body: '{}',
                headers: { 'x-unit-id': `u${u++}` },
                dispatcher: agent,
              });
              await res.body.text();
              if (res.statusCode === 200) t.ok++;
              else t.failed++;
            } catch {
              t.failed++;
            }
            t.lat.push(performance.now() - start);
          }
        };
        // Each console: /admin/traffic every 2 s and /admin/objectives every 5 s, first calls spread over the period.
        const timers: NodeJS.Timeout[] = [];
        const poll = (path: string) => async () => {
          const res = await request(`${admin}${path}`);
          await res.body.text();
          t.polls++;
        };
        for (let c = 0; c < phase.consoles; c++) {
          const offset = (c * 2000) / Math.max(1, phase.consoles);
          timers.push(
            setTimeout(() => timers.push(setInterval(() => void poll('/admin/traffic?minutes=5')(), 2000)), offset),
          );
          timers.push(setTimeout(() => timers.push(setInterval(() => void poll('/admin/objectives')(), 5000)), offset));
          void poll('/admin/traffic?minutes=5')();
        }
        const began = performance.now();
        const clients = Array.from({ length: concurrency }, (_, i) => client(i * 1_000_000 + round * 100_000));
        await new Promise((r) => setTimeout(r, seconds * 1000));
        stop = true;
        for (const x of timers) {
          clearTimeout(x);
          clearInterval(x);
        }
        await Promise.all(clients);
        t.seconds += (performance.now() - began) / 1000;
      }
    }
    // Load-independent: CPU per console call (server and client side both, so an upper bound), sequentially.
    const cpuPerCall = async (path: string, n: number) => {
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const res = await request(`${admin}${path}`);
        await res.body.text();
      }
      const d = process.cpuUsage(before);
      return (d.user + d.system) / n / 1000;
    };
    trafficCpuMs = await cpuPerCall('/admin/traffic?minutes=5', quick ? 100 : 300);
    objectivesCpuMs = await cpuPerCall('/admin/objectives', quick ? 100 : 300);
  } finally {
    await agent.close();
    await j.close();
    await Promise.all([a.close(), b.close()]);
  }
  const base = totals.get(PHASES[0]!.name)!;
  const baseRps = base.ok / base.seconds;
  const p = (lat: number[], q: number) => lat.sort((x, y) => x - y)[Math.floor(lat.length * q)] ?? NaN;
  const baseP99 = p(base.lat, 0.99);
  const rows = PHASES.map(({ name }) => {
    const t = totals.get(name)!;
    const rps = t.ok / t.seconds;
    return {
      scenario: name,
      'admin calls/s': +(t.polls / t.seconds).toFixed(1),
      'req/s': Math.round(rps),
      'vs no console': +(rps / baseRps).toFixed(3),
      'p99 ms': +p(t.lat, 0.99).toFixed(2),
      'p99 vs no console': +(p(t.lat, 0.99) / baseP99).toFixed(3),
      failed: t.failed,
    };
  });
  const ns = observeNs(quick ? 200_000 : 1_000_000);
  // One console on the objective page: traffic every 2 s, objectives every 5 s.
  const consoleCoreShare = trafficCpuMs / 2000 + objectivesCpuMs / 5000;
  return {
    name: 'console polling',
    rows,
    notes: [
      `counting on the request path: TrafficStats.observe ${ns.traffic.toFixed(0)} ns per request, ${(ns.traffic / ns.gates).toFixed(2)}× the rollout gates' GateStats.observe (${ns.gates.toFixed(0)} ns)`,
      `CPU per call, client side included: /admin/traffic ${trafficCpuMs.toFixed(2)} ms, /admin/objectives ${objectivesCpuMs.toFixed(2)} ms → one open console uses ${(consoleCoreShare * 100).toFixed(3)} % of one core`,
      `${concurrency} clients on one objective with an experiment, ${rounds} interleaved rounds of ${seconds} s per scenario, load generator in the same process`,
      'target: one open console changes data-plane throughput and p99 by no more than the noise between rounds; its CPU share well under 1 % of a core',
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(await benchConsole());
}
