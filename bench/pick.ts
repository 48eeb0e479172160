// Replica pick cost (SPEC §9: ≤ 5 µs per request at 64 replicas), per
// balancer, through the endpoint set's own pick (the same `ok` check, input
// object and reason the backends use), on replicas with load reports, open
// calls and adapters. Calls "complete" in a window so load stays realistic.
// Also the prefix key of a 4 KiB and a 64 KiB chat body (prefix balancing reads it per call),
// and heap growth over the run as the allocation check.
import { performance } from 'node:perf_hooks';
import { BALANCERS, type Balance, type HttpBackendConfig } from '../src/config/schema.js';
import { makeBalancer, PREFIX_DEFAULTS } from '../src/backends/balance/index.js';
import { prefixKey } from '../src/backends/balance/prefix-key.js';
import { EndpointSet } from '../src/backends/http/endpoints.js';
import { ReplicaState } from '../src/backends/replica.js';
import type { BenchSection } from './report.js';

class FakeReplica extends ReplicaState {
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const REPLICAS = 64;
const cfg = { type: 'http', protocol: 'openai', endpoints: ['http://x:1'], connections: 1 } as HttpBackendConfig;

function makeSet(): EndpointSet<FakeReplica> {
  const urls = Array.from({ length: REPLICAS }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:8000`);
  const set = new EndpointSet<FakeReplica>(
    urls,
    { connections: 1, maxConcurrency: undefined, consecutiveFailures: 5, baseEjectionMs: 1000, maxEjectedPercent: 50 },
    () => undefined,
    () => 0,
    (u) => new FakeReplica(u, u),
    (name) => makeBalancer(name, cfg),
  );
  set.endpoints.forEach((e, i) => {
    e.load = { queue: i % 5, running: (i * 7) % 13, kvCache: (i % 10) / 10, at: 0, source: 'metrics' };
    e.adapters = new Set(i % 8 === 0 ? ['base', 'lora-a'] : ['base']);
  });
  set.input.maxAgeMs = 1e12;
  set.input.adapter = 'lora-a';
  return set;
}

/** ns per pick of `balance` over `n` picks; a window of 256 calls stays open. */
function nsPerPick(balance: Balance, n: number): { ns: number; heapBytesPerPick: number } {
  const set = makeSet();
  const window: FakeReplica[] = new Array<FakeReplica>(256);
  // 16 distinct conversations, 4 blocks each: chains share their first block by four.
  const chains = Array.from({ length: 16 }, (_, c) => [c >> 2, 100 + c, 200 + c, 300 + c]);
  let reasons = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const chain = chains[i & 15]!;
      const input = set.input;
      input.prefix[0] = chain[0]!;
      input.prefix[1] = chain[1]!;
      input.prefix[2] = chain[2]!;
      input.prefix[3] = chain[3]!;
      input.prefixBlocks = 4;
      const e = balance === 'p2c' ? set.pick(i) : set.pickWith(balance, i);
      reasons += set.reason.length;
      const slot = i & 255;
      const done = window[slot];
      if (done !== undefined) done.outstanding--;
      e!.outstanding++;
      window[slot] = e!;
    }
  };
  run(200_000); // warm up the JIT
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  run(n);
  const ms = performance.now() - t0;
  const heap1 = process.memoryUsage().heapUsed;
  if (reasons === -1) console.log(reasons);
  return { ns: (ms * 1e6) / n, heapBytesPerPick: Math.max(0, heap1 - heap0) / n };
}

/** ns to key a chat body of about `kib` KiB with the default key (64 blocks of 1 KiB). */
function prefixKeyNs(n: number, kib: number): number {
  const messages = [
    { role: 'system', content: 'You are a support assistant for an online shop. '.repeat(40) },
    { role: 'user', content: 'Where is my order? '.repeat(Math.max(1, Math.round(((kib - 2) * 1024) / 19))) },
  ];
  const body = Buffer.from(JSON.stringify({ model: 'chat', messages, stream: true }));
  const out = new Uint32Array(PREFIX_DEFAULTS.blocks);
  const key = () => prefixKey(body, 'messages', PREFIX_DEFAULTS.blockChars, PREFIX_DEFAULTS.blocks, out);
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += key();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += key();
  const ms = performance.now() - t0;
  if (sink === -1) console.log(sink);
  return (ms * 1e6) / n;
}

export function benchPick(picks = 1_000_000): BenchSection {
  const rows: Array<Record<string, string | number>> = [];
  for (const balance of BALANCERS) {
    const { ns, heapBytesPerPick } = nsPerPick(balance, picks);
    rows.push({
      balancer: balance,
      replicas: REPLICAS,
      'ns/pick': Math.round(ns),
      'heap B/pick': +heapBytesPerPick.toFixed(2),
    });
  }
  const key4 = prefixKeyNs(picks / 20, 4);
  const key64 = prefixKeyNs(picks / 200, 64);
  return {
    name: `replica pick (${REPLICAS} replicas, one core)`,
    rows,
    notes: [
      `prefix key (default: up to 64 blocks of 1 KiB) of a 4 KiB chat body: ${(key4 / 1000).toFixed(1)} µs; of a 64 KiB one: ${(key64 / 1000).toFixed(1)} µs`,
      'target: ≤ 5 µs per pick at 64 replicas (SPEC §9); heap B/pick ≈ 0 means no allocation per pick',
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printSection } = await import('./report.js');
  printSection(benchPick());
}
