import { describe, expect, it } from 'vitest';
import type { LoadReport } from '../replica.js';
import { AdapterBalancer } from './adapter.js';
import { LeastLoadBalancer, loadScore } from './least-load.js';
import { p2c } from './p2c.js';
import { PrefixBalancer, PrefixIndex } from './prefix.js';
import { prefixKey, topLevelValueStart } from './prefix-key.js';
import { newPickInput, type Candidate } from './types.js';

interface R extends Candidate {
  name: string;
  outstanding: number;
  outstandingAtReport: number;
  load: LoadReport | undefined;
  adapters: ReadonlySet<string> | undefined;
  hash: number;
  removed: boolean;
  up: boolean;
}

function replicas(n: number): R[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `r${i}`,
    outstanding: 0,
    outstandingAtReport: 0,
    load: undefined,
    adapters: undefined,
    hash: Math.imul(i + 1, 0x9e3779b1) >>> 0,
    removed: false,
    up: true,
  }));
}
const ok = (r: R) => r.up && !r.removed;
const report = (queue: number, running: number, kvCache?: number, at = 0): LoadReport => ({
  queue,
  running,
  kvCache,
  at,
  source: 'metrics',
});
/** A seeded generator (mulberry32), so every run draws the same. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('p2c', () => {
  it('takes the less loaded of two draws and skips replicas that may not take the call', () => {
    const list = replicas(3);
    list[0]!.outstanding = 5;
    list[1]!.outstanding = 1;
    const draws = [0, 0.5];
    expect(p2c(list, ok, () => draws.shift()!)).toBe(list[1]);
    list[0]!.up = false;
    list[1]!.up = false;
    expect(p2c(list, ok, () => 0)).toBe(list[2]);
    list[2]!.up = false;
    expect(p2c(list, ok, () => 0)).toBeUndefined();
  });
});

describe('least-load', () => {
  it('orders by queue first, then running, then KV-cache use', () => {
    const list = replicas(3);
    const input = newPickInput();
    input.maxAgeMs = 1000;
    list[0]!.load = report(3, 0, 0);
    list[1]!.load = report(0, 5, 0.9);
    list[2]!.load = report(0, 5, 0.2);
    const b = new LeastLoadBalancer();
    expect(b.pick(list, ok, input)).toBe(list[2]);
    expect(b.reason).toBe('least-load');
    expect(loadScore(list[0]!, 0, 1000)).toBeGreaterThan(loadScore(list[1]!, 0, 1000));
  });

  it("falls back to Junction's own count when a report is missing or stale, and says so", () => {
    const list = replicas(2);
    const input = newPickInput();
    input.maxAgeMs = 1000;
    input.now = 5000;
    list[0]!.load = report(0, 0, 0, 0); // 5 s old: stale
    list[0]!.outstanding = 4;
    list[1]!.outstanding = 1;
    const b = new LeastLoadBalancer();
    expect(b.pick(list, ok, input)).toBe(list[1]);
    expect(b.reason).toBe('fallback-no-report');
  });

  it('counts what was sent since the last report on top of it', () => {
    const list = replicas(2);
    const input = newPickInput();
    list[0]!.load = report(0, 1);
    list[1]!.load = report(0, 2);
    list[0]!.outstanding = 3; // three sent since its report (none open then)
    expect(new LeastLoadBalancer().pick(list, ok, input)).toBe(list[1]);
  });

  it('takes off the calls that finished since the last report', () => {
    const list = replicas(2);
    const input = newPickInput();
    // r0 reported 3 running, all three Junction's, and they have finished since; r1 reported 1.
    list[0]!.load = report(0, 3);
    list[0]!.outstandingAtReport = 3;
    list[1]!.load = report(0, 1);
    expect(loadScore(list[0]!, 0, Infinity)).toBe(0);
    expect(new LeastLoadBalancer().pick(list, ok, input)).toBe(list[0]);
  });
});

describe('prefix key', () => {
  const chat = (system: string, ...turns: string[]) =>
    Buffer.from(
      JSON.stringify({
        model: 'm',
        messages: [
          { role: 'system', content: system },
          ...turns.map((t, i) => ({ role: i % 2 ? 'assistant' : 'user', content: t })),
        ],
        stream: true,
      }),
    );

  it('hashes whole blocks of the field, chained: shared leading blocks give the same leading hashes', () => {
    const sys = 'You are a helpful assistant. '.repeat(20);
    const a = new Uint32Array(8);
    const b = new Uint32Array(8);
    const na = prefixKey(chat(sys, 'first question'), 'messages', 64, 8, a);
    const nb = prefixKey(chat(sys, 'another question entirely', 'answer', 'more'), 'messages', 64, 8, b);
    expect(na).toBe(8);
    expect(nb).toBe(8);
    expect([...a.subarray(0, 8)]).toEqual([...b.subarray(0, 8)]); // 8 × 64 bytes are all system prompt
    const c = new Uint32Array(8);
    prefixKey(chat('Another system prompt. '.repeat(30), 'first question'), 'messages', 64, 8, c);
    expect(c[0]).not.toBe(a[0]);
  });

  it('finds the field by a scan that stops at its value, and gives no key without one', () => {
    const raw = Buffer.from('{"model":"x","nested":{"messages":[1]},"prompt":"abc"}');
    expect(raw.toString('utf8', topLevelValueStart(raw, 'prompt'))).toBe('"abc"}');
    expect(topLevelValueStart(raw, 'messages')).toBe(-1); // only at the top level
    expect(topLevelValueStart(Buffer.from('not json'), 'prompt')).toBe(-1);
    expect(topLevelValueStart(Buffer.from('{"prompt"'), 'prompt')).toBe(-1);
    expect(prefixKey(Buffer.from('{"prompt":"short"}'), 'prompt', 64, 8, new Uint32Array(8))).toBe(0);
  });
});

describe('prefix balancer', () => {
  function keyed(input: ReturnType<typeof newPickInput>, ...hashes: number[]) {
    hashes.forEach((h, i) => (input.prefix[i] = h));
    input.prefixBlocks = hashes.length;
  }

  it('sends a prefix back to the replica that served it (longest chain wins)', () => {
    const list = replicas(8);
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    input.random = seeded(1);
    keyed(input, 11, 12, 13);
    const first = b.pick(list, ok, input)!;
    expect(b.reason).toBe('prefix-miss');
    keyed(input, 11, 12, 13, 14);
    expect(b.pick(list, ok, input)).toBe(first);
    expect(b.reason).toBe('prefix-hit');
    // Another conversation on the same system prompt (block 11) then diverging: still the replica holding 11.
    keyed(input, 11, 99);
    expect(b.pick(list, ok, input)).toBe(first);
  });

  it('a hot prefix spills past (1+ε)× the mean, in consistent-hashing order, and no replica piles up', () => {
    const list = replicas(8);
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    input.random = seeded(2);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      keyed(input, 7, 8);
      const r = b.pick<R>(list, ok, input)!;
      r.outstanding++; // calls stay open: load builds up
      reasons.set(b.reason, (reasons.get(b.reason) ?? 0) + 1);
    }
    const loads = list.map((r) => r.outstanding);
    const mean = 200 / 8;
    expect(Math.max(...loads)).toBeLessThanOrEqual(Math.ceil(1.25 * (mean + 1)));
    expect(reasons.get('prefix-spill')).toBeGreaterThan(0);
    expect(reasons.get('prefix-hit')).toBeGreaterThan(0);
  });

  it('past the bound, the holder of a shorter matched chain (an earlier turn) takes it before any other', () => {
    const list = replicas(8);
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    input.random = seeded(4);
    const [a, earlier] = [list[0]!, list[5]!];
    b.index.set(1, earlier);
    b.index.set(2, earlier);
    b.index.set(3, a);
    a.outstanding = 4; // bound: ceil(1.25 × (4 + 1) / 8) = 1
    keyed(input, 1, 2, 3, 4);
    expect(b.pick(list, ok, input)).toBe(earlier);
    expect(b.reason).toBe('prefix-spill');
    expect(b.index.get(3)).toBe(earlier); // the chain now points where it was served
  });

  it('a prompt that matches nothing goes to the least-loaded replica', () => {
    const list = replicas(4);
    list.forEach((r, i) => (r.outstanding = [3, 2, 0, 4][i]!));
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    input.random = seeded(3);
    for (let k = 0; k < 4; k++) {
      keyed(input, 1000 + k, 2000 + k);
      expect(b.pick(list, ok, input)).toBe(list[2]);
      expect(b.reason).toBe('prefix-miss');
    }
  });

  it('without a key it balances by load and says why', () => {
    const list = replicas(2);
    list[0]!.outstanding = 3;
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    input.noKey = 'fallback-streamed-body';
    expect(b.pick(list, ok, input)).toBe(list[1]);
    expect(b.reason).toBe('fallback-streamed-body');
  });

  it('forgets replicas that left and skips ones that may not take the call', () => {
    const list = replicas(4);
    const b = new PrefixBalancer(0.25, 1000);
    const input = newPickInput();
    keyed(input, 5);
    const first = b.pick<R>(list, ok, input)!;
    first.removed = true;
    keyed(input, 5);
    const second = b.pick(list, ok, input)!;
    expect(second).not.toBe(first);
  });

  it('the index is a bounded LRU', () => {
    const index = new PrefixIndex(64);
    const [r] = replicas(1);
    for (let h = 0; h < 10_000; h++) index.set(h, r!);
    expect(index.size).toBe(64);
    expect(index.get(9_999)).toBe(r);
    expect(index.get(0)).toBeUndefined();
    const [other] = replicas(1);
    index.set(9_999, other!);
    expect(index.get(9_999)).toBe(other);
  });
});

describe('adapter balancer', () => {
  it('sends an adapter to replicas that have it, spills past the bound, and falls back to any replica', () => {
    const list = replicas(4);
    list[0]!.adapters = new Set(['base', 'sql-lora']);
    list[1]!.adapters = new Set(['base']);
    list[2]!.adapters = new Set(['base']);
    list[3]!.adapters = new Set(['base']);
    const b = new AdapterBalancer(0.25);
    const input = newPickInput();
    input.adapter = 'sql-lora';
    expect(b.pick(list, ok, input)).toBe(list[0]);
    expect(b.reason).toBe('adapter-hit');
    list[0]!.outstanding = 5; // far past (1.25 × mean)
    const spilled = b.pick(list, ok, input);
    expect(spilled).not.toBe(list[0]);
    expect(b.reason).toBe('adapter-spill');
    input.adapter = 'unknown-lora';
    expect(b.pick(list, ok, input)).toBeDefined();
    expect(b.reason).toBe('adapter-miss');
    list[0]!.up = false;
    input.adapter = 'sql-lora';
    expect(b.pick(list, ok, input)).not.toBe(list[0]);
  });
});
