import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointSet, type Endpoint, type EndpointOptions } from './endpoints.js';

const OPTS: EndpointOptions = {
  connections: 1,
  maxConcurrency: undefined,
  consecutiveFailures: 3,
  baseEjectionMs: 1000,
  maxEjectedPercent: 50,
};

function makeSet(urls: string[], opts = OPTS) {
  const reports: Array<[string, boolean]> = [];
  let now = 0;
  const set = new EndpointSet(
    urls,
    opts,
    (e: Endpoint, healthy) => reports.push([e.url, healthy]),
    () => now,
  );
  return {
    set,
    reports,
    at: (t: number) => {
      now = t;
      return t;
    },
  };
}

describe('EndpointSet', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ejects after consecutive failures and takes the endpoint back after the ejection time', async () => {
    vi.useFakeTimers();
    const { set, reports, at } = makeSet(['http://a:1']);
    const [a] = set.endpoints;
    expect(reports).toEqual([['http://a:1', true]]);
    set.failure(a!, at(0));
    set.failure(a!, at(0));
    expect(set.pick(at(0))).toBe(a);
    set.failure(a!, at(0));
    expect(set.pick(at(0))).toBeUndefined();
    expect(set.anyAvailable(at(999))).toBe(false);
    expect(reports.at(-1)).toEqual(['http://a:1', false]);
    at(1001);
    vi.advanceTimersByTime(1001);
    expect(set.pick(1001)).toBe(a);
    expect(reports.at(-1)).toEqual(['http://a:1', true]);
    await set.close();
  });

  it('a success resets the failure count', async () => {
    const { set, at } = makeSet(['http://a:1']);
    const a = set.endpoints[0]!;
    set.failure(a, at(0));
    set.failure(a, at(0));
    set.success(a);
    set.failure(a, at(0));
    set.failure(a, at(0));
    expect(set.pick(at(0))).toBe(a);
    await set.close();
  });

  it('ejects for longer each time', async () => {
    const { set, at } = makeSet(['http://a:1']);
    const a = set.endpoints[0]!;
    for (let i = 0; i < 3; i++) set.failure(a, at(0));
    expect(a.ejectedUntil).toBe(1000);
    for (let i = 0; i < 3; i++) set.failure(a, at(2000));
    expect(a.ejectedUntil).toBe(4000);
    await set.close();
  });

  it('never ejects more than maxEjectedPercent of a set', async () => {
    const { set, at } = makeSet(['http://a:1', 'http://b:1']);
    const [a, b] = set.endpoints;
    for (let i = 0; i < 3; i++) set.failure(a!, at(0));
    for (let i = 0; i < 3; i++) set.failure(b!, at(0));
    expect(a!.available(0)).toBe(false);
    expect(b!.available(0)).toBe(true);
    expect(set.pick(at(0), () => 0)).toBe(b);
    await set.close();
  });

  it('a passing active check after a failing one ends an ejection; a steady pass does not', async () => {
    const { set, reports, at } = makeSet(['http://a:1']);
    const a = set.endpoints[0]!;
    for (let i = 0; i < 3; i++) set.failure(a, at(0));
    set.setReady(a, true, at(1)); // was passing all along: the ejection stands
    expect(a.available(1)).toBe(false);
    set.setReady(a, false, at(2));
    set.setReady(a, true, at(3)); // came back: restored at once, history forgotten
    expect(a.available(3)).toBe(true);
    expect(a.ejections).toBe(0);
    expect(reports).toEqual([
      ['http://a:1', true],
      ['http://a:1', false],
      ['http://a:1', true],
    ]);
    await set.close();
  });

  it('power of two choices prefers the endpoint with fewer outstanding calls', async () => {
    const { set, at } = makeSet(['http://a:1', 'http://b:1', 'http://c:1']);
    const [a, b] = set.endpoints;
    a!.outstanding = 5;
    b!.outstanding = 1;
    // random 0 → a first; 0.5 → index 1 second (b).
    const draws = [0, 0.5];
    expect(set.pick(at(0), () => draws.shift()!)).toBe(b);
    await set.close();
  });

  it('skips endpoints at their concurrency cap', async () => {
    const { set, at } = makeSet(['http://a:1'], { ...OPTS, maxConcurrency: 2 });
    const a = set.endpoints[0]!;
    a.outstanding = 2;
    expect(set.pick(at(0))).toBeUndefined();
    expect(set.anyAvailable(0)).toBe(true);
    await set.close();
  });
});
